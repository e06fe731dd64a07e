"""Keys of Tailor's own objects (`projects/<uuid>/images/<uuid>.jpg`) and their `tailor://` URIs.

A key is a `/`-separated relative name, the same on disk and in a container, so that nothing about it depends on
which storage holds it; a `tailor://` URI names the key, not the storage, so a COCO snapshot stays valid when the
objects move from the data directory to a container.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from ..errors import BlobUnsupported

TAILOR_SCHEME = "tailor"
_PREFIX = f"{TAILOR_SCHEME}://"
ROOT_URI = _PREFIX  # the whole storage, as errors about it name it


def check_key(key: str) -> str:
    """`key` when it is a valid key; ValueError saying what is wrong otherwise. Keys come from Tailor's code, not
    from users, so a bad one is a bug to stop at once, before it can name a file outside the storage's root."""
    problem = key_problem(key)
    if problem is not None:
        raise ValueError(f"invalid storage key {key!r}: {problem}")
    return key


def key_problem(key: str) -> str | None:
    if not isinstance(key, str) or not key:
        return "a key is a non-empty string"
    if "\\" in key:
        return "a key separates its parts with '/', never a backslash"
    if any(ord(char) < 0x20 or char == "\x7f" for char in key):  # NUL included; a newline would split log lines
        return "a key holds no NUL or other control characters"
    if key.startswith("/"):
        return "a key is relative (no leading '/')"
    parts = key.split("/")
    if "" in parts:
        return "a key has no empty parts ('//' or a trailing '/')"
    if "." in parts or ".." in parts:
        return "a key has no '.' or '..' parts"
    return None


def check_prefix(prefix: str) -> str:
    """The folder a prefix names, with its trailing '/' ("projects/p" and "projects/p/" both give "projects/p/"):
    a prefix is always whole parts, so that "projects/1" never takes "projects/10/" with it."""
    folder = prefix.removesuffix("/")
    problem = key_problem(folder)
    if problem is not None:
        raise ValueError(f"invalid storage prefix {prefix!r}: {problem.replace('a key', 'a prefix')}")
    return folder + "/"


def own_uri(key: str) -> str:
    """The `tailor://` URI of `key`, percent-encoded so that a '?', '#' or '%' in a key survives URI parsing."""
    return _PREFIX + quote(check_key(key), safe="/")


def key_of_uri(uri: str, shown: str) -> str:
    """The key a `tailor://` URI names; BlobUnsupported when it names none."""
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    if "?" in rest or "#" in rest:
        raise BlobUnsupported(shown, "a tailor:// URI names a key and has no query or fragment")
    key = unquote(rest)
    problem = key_problem(key)
    if problem is not None:
        raise BlobUnsupported(shown, f"not a valid tailor:// URI ({problem})")
    return key
