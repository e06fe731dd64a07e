"""Reading files and images from where users keep them: a local path, a `file://` URI, an Azure Blob URL (Azurite
included) or another http(s) URL; and writing and reading the objects Tailor keeps itself. All user data Tailor
reads goes through `BlobReader`, all it stores through a `Storage`.

The caller decides what may be read with a `BlobPolicy`: the CLI reads as its user (`BlobPolicy.local_user()`,
everything allowed); the service (`BlobPolicy.from_settings`) confines local paths to TAILOR_DATA_ROOTS and refuses
URLs that lead to loopback, private, link-local or metadata addresses unless TAILOR_ALLOW_HOSTS names them. A
dataset's `Access` says how its Azure blobs are authenticated. Limits are enforced while reading: nothing past
`max_bytes` is ever held in memory. Failures are `tailor.errors.BlobError`s.

    reader = BlobReader(BlobPolicy.from_settings(settings))
    source = reader.annotation_file(uri, access=Access(AuthKind.SAS, token), max_bytes=limit)
    problems = coco.check_images(dataset, reader.image_fetcher(access), purpose)

Tailor's own objects (uploaded images, thumbnails, training snapshots, trained models, reports) live in a `Storage`
(`open_storage`: the container of TAILOR_ARTIFACTS_URL, or of TAILOR_STORAGE_CONTAINER, at scale; `<data dir>/storage`
on the embedded default), under `/`-separated keys. `storage.uri(key)` is `tailor://<key>`, which a reader given that
storage reads like any other URI (limits apply; the data roots and the address guard do not), so a snapshot's COCO
file can name its images by it:

    storage = open_storage(settings)
    storage.put(f"projects/{project}/images/{image}.jpg", data, "image/jpeg")
    reader = BlobReader(BlobPolicy.from_settings(settings), storage=storage)
    snapshot = storage.uri(f"projects/{project}/iterations/{iteration}/train.json")
    source = reader.annotation_file(snapshot, max_bytes=limit)

Folders of files kept under one name (a trained model, a report) go through an `ArtifactStore` over that storage:
uploaded with a manifest of checksums, and used on any host from a checked local copy in a bounded cache:

    artifacts = ArtifactStore(storage, data_dir / "cache" / "artifacts", max_bytes=10 << 30)
    artifacts.upload(folder, "models/fruit/attempt-1-3f2a9c1d")
    with artifacts.local_copy("models/fruit/attempt-1-3f2a9c1d") as folder:
        ...

May import: tailor.coco, tailor.errors, tailor.settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..coco import CocoSource
from ._artifacts import ArtifactStore, is_landed, within
from ._local_storage import LocalStorage
from ._locations import to_uri
from ._policy import Access, AuthKind, BlobPolicy
from ._reader import BlobReader
from ._storage import Storage, open_storage

if TYPE_CHECKING:
    from ._azure_storage import AzureStorage

__all__ = [
    "Access",
    "ArtifactStore",
    "AuthKind",
    "AzureStorage",
    "BlobPolicy",
    "BlobReader",
    "LocalStorage",
    "Storage",
    "is_landed",
    "open_storage",
    "read_annotation_file",
    "read_blob",
    "to_uri",
    "within",
]


def __getattr__(name: str) -> object:
    # azure-storage-blob takes a quarter second to import: `AzureStorage` is imported when first asked for.
    if name == "AzureStorage":
        from ._azure_storage import AzureStorage

        return AzureStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_LOCAL_USER = BlobReader(BlobPolicy.local_user())


def read_blob(uri: str, *, max_bytes: int, truncate: bool = False) -> bytes:
    """The bytes at `uri`, read as the local user (the CLI). Over `max_bytes`: BlobTooLarge, or with `truncate`
    the first `max_bytes` bytes."""
    return _LOCAL_USER.read(uri, max_bytes=max_bytes, truncate=truncate)


def read_annotation_file(location: str, *, max_bytes: int) -> CocoSource:
    """A COCO file read as the local user (the CLI): named as the user gave it, with its absolute URI as the base
    that relative image references resolve against."""
    return _LOCAL_USER.annotation_file(location, max_bytes=max_bytes)
