"""Reading files and images from where users keep them: a local path, a `file://` URI, or an http(s) URL.

One function, `read_blob`, for annotation files and images alike. Limits are enforced while reading: nothing past
`max_bytes` is ever held in memory. (Azure Blob Storage authentication and the address checks of the service plug
in behind this same function.)
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from .coco import CocoSource
from .errors import BlobAccessDenied, BlobNotFound, BlobTooLarge, BlobUnreachable, BlobUnsupported

_CHUNK = 1 << 20
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def to_uri(location: str) -> str:
    """An absolute URI for what a user typed: URLs stay as they are, paths become `file://` URIs."""
    if _scheme(location) in ("http", "https", "file"):
        return location
    return Path(location).expanduser().resolve().as_uri()


def read_annotation_file(location: str, *, max_bytes: int) -> CocoSource:
    """A COCO file, ready for `tailor.coco.validate_coco`: named as the user gave it, with its absolute URI as the
    base that relative image references resolve against."""
    return CocoSource(location, read_blob(location, max_bytes=max_bytes), to_uri(location))


def read_blob(uri: str, *, max_bytes: int, truncate: bool = False) -> bytes:
    """The bytes at `uri`. Over `max_bytes`: BlobTooLarge, or with `truncate` the first `max_bytes` bytes."""
    scheme = _scheme(uri)
    if scheme in ("http", "https"):
        return _read_http(uri, max_bytes, truncate)
    if scheme == "file":
        return _read_file(Path(unquote(urlsplit(uri).path)), uri, max_bytes, truncate)
    if scheme == "":
        return _read_file(Path(uri).expanduser(), uri, max_bytes, truncate)
    raise BlobUnsupported(uri, f"unsupported URI scheme {scheme!r}; use a local path, file://, http:// or https://")


def _scheme(location: str) -> str:
    scheme = urlsplit(location).scheme.lower()
    return "" if len(scheme) == 1 else scheme  # "C:\\data" is a Windows path, not a URI


def _read_file(path: Path, uri: str, max_bytes: int, truncate: bool) -> bytes:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes and not truncate:
                raise BlobTooLarge(uri, max_bytes, size)
            return handle.read(max_bytes)
    except FileNotFoundError:
        raise BlobNotFound(uri, "no such file") from None
    except IsADirectoryError:
        raise BlobUnsupported(uri, "is a folder, not a file") from None
    except PermissionError:
        raise BlobAccessDenied(uri, "permission denied") from None
    except OSError as exc:
        raise BlobUnreachable(uri, exc.strerror or str(exc)) from None


def _read_http(uri: str, max_bytes: int, truncate: bool) -> bytes:
    transport = httpx.HTTPTransport(retries=2)  # connection failures only; the request itself is not replayed
    try:
        with httpx.Client(transport=transport, timeout=_TIMEOUT, follow_redirects=True) as client:
            with client.stream("GET", uri) as response:
                _raise_for_status(uri, response)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes and not truncate:
                    raise BlobTooLarge(uri, max_bytes, int(declared))
                body = bytearray()
                for chunk in response.iter_bytes(_CHUNK):
                    body += chunk
                    if len(body) > max_bytes:
                        if truncate:
                            return bytes(body[:max_bytes])
                        raise BlobTooLarge(uri, max_bytes)
                return bytes(body)
    except httpx.TimeoutException:
        raise BlobUnreachable(uri, "timed out") from None
    except httpx.HTTPError as exc:
        raise BlobUnreachable(uri, f"cannot connect ({type(exc).__name__}: {exc})") from None


def _raise_for_status(uri: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 404:
        raise BlobNotFound(uri, "not found (HTTP 404)")
    if status in (401, 403):
        raise BlobAccessDenied(uri, f"access denied (HTTP {status}); a SAS token or credential may be needed")
    raise BlobUnreachable(uri, f"the server answered HTTP {status}")
