"""Tailor's errors. Third-party errors (httpx, OS, later azure and sqlalchemy) are translated into these at the
edge where they happen; the API and the CLI map these, and only these, to codes and exit statuses.

    TailorError
    └── BlobError                 reading a file or an image failed
        ├── BlobNotFound          nothing at that path or URL
        ├── BlobAccessDenied      refused by the filesystem or the server
        ├── BlobTooLarge          over the size limit; nothing beyond the limit was read
        ├── BlobUnsupported       a URI Tailor does not read (unknown scheme, a folder, ...)
        └── BlobUnreachable       network failure, timeout, or a server error that persisted
"""

from __future__ import annotations


class TailorError(Exception):
    """Base of every error Tailor raises on purpose; the message is meant for the user."""


class BlobError(TailorError):
    def __init__(self, uri: str, reason: str):
        super().__init__(f"{uri}: {reason}")
        self.uri = uri
        self.reason = reason


class BlobNotFound(BlobError):
    pass


class BlobAccessDenied(BlobError):
    pass


class BlobTooLarge(BlobError):
    def __init__(self, uri: str, limit: int, size: int | None = None):
        shown = f"{size:,} bytes" if size is not None else "larger"
        super().__init__(uri, f"{shown}, over the {limit:,}-byte limit")
        self.limit = limit
        self.size = size


class BlobUnsupported(BlobError):
    pass


class BlobUnreachable(BlobError):
    pass
