"""Reading files and images from where users keep them: a local path, a `file://` URI, an Azure Blob URL (Azurite
included) or another http(s) URL. All user data Tailor reads goes through `BlobReader`.

The caller decides what may be read with a `BlobPolicy`: the CLI reads as its user (`BlobPolicy.local_user()`,
everything allowed); the service (`BlobPolicy.from_settings`) confines local paths to TAILOR_DATA_ROOTS and refuses
URLs that lead to loopback, private, link-local or metadata addresses unless TAILOR_ALLOW_HOSTS names them. A
dataset's `Access` says how its Azure blobs are authenticated. Limits are enforced while reading: nothing past
`max_bytes` is ever held in memory. Failures are `tailor.errors.BlobError`s.

    reader = BlobReader(BlobPolicy.from_settings(settings))
    source = reader.annotation_file(uri, access=Access(AuthKind.SAS, token), max_bytes=limit)
    problems = coco.check_images(dataset, reader.image_fetcher(access), purpose)
"""

from __future__ import annotations

from ..coco import CocoSource
from ._locations import to_uri
from ._policy import Access, AuthKind, BlobPolicy
from ._reader import BlobReader

__all__ = ["Access", "AuthKind", "BlobPolicy", "BlobReader", "read_annotation_file", "read_blob", "to_uri"]

_LOCAL_USER = BlobReader(BlobPolicy.local_user())


def read_blob(uri: str, *, max_bytes: int, truncate: bool = False) -> bytes:
    """The bytes at `uri`, read as the local user (the CLI). Over `max_bytes`: BlobTooLarge, or with `truncate`
    the first `max_bytes` bytes."""
    return _LOCAL_USER.read(uri, max_bytes=max_bytes, truncate=truncate)


def read_annotation_file(location: str, *, max_bytes: int) -> CocoSource:
    """A COCO file read as the local user (the CLI): named as the user gave it, with its absolute URI as the base
    that relative image references resolve against."""
    return _LOCAL_USER.annotation_file(location, max_bytes=max_bytes)
