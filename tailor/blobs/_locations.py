"""What kind of location a user gave (a local path, a file:// URI, an http(s) URL) or Tailor wrote (a tailor://
URI of its own storage), and how to name it in messages."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import BlobUnsupported


class Scheme(str, Enum):
    PATH = ""  # no scheme: a path on this machine
    FILE = "file"
    HTTP = "http"
    HTTPS = "https"
    TAILOR = "tailor"  # Tailor's own storage (tailor.blobs.Storage.uri)


def scheme_of(location: str) -> Scheme:
    """The scheme of `location`; BlobUnsupported for any Tailor does not read."""
    scheme = urlsplit(location).scheme.lower()
    if len(scheme) == 1:  # "C:\\data" is a Windows path, not a URI
        scheme = ""
    try:
        return Scheme(scheme)
    except ValueError:
        raise BlobUnsupported(
            shown(location), f"unsupported URI scheme {scheme!r}; use a local path, file://, http:// or https://"
        ) from None


def to_uri(location: str) -> str:
    """An absolute URI for what a user typed: URIs stay as they are, paths become `file://` URIs."""
    if urlsplit(location).scheme.lower() in ("http", "https", "file", "tailor"):
        return location
    return Path(location).expanduser().resolve().as_uri()


def local_path(location: str, scheme: Scheme) -> Path:
    """The path a local location names: the path itself, or the path of a `file://` URI on this machine."""
    if scheme is Scheme.PATH:
        return Path(location).expanduser()
    parts = urlsplit(location)
    if parts.netloc not in ("", "localhost"):  # file://server/share names another machine
        raise BlobUnsupported(location, "a file:// URI must name this machine: file:///path/to/file")
    return Path(unquote(parts.path))


_SIGNATURE = re.compile(r"(?i)([?&]sig=)[^&#]*")


def shown(uri: str) -> str:
    """`uri` as messages may show it: a SAS signature in the query is a secret, so it is blanked."""
    return _SIGNATURE.sub(r"\1REDACTED", uri)
