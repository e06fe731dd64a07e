"""The storage Tailor owns: where it keeps what it is given (uploaded images, thumbnails) and what it writes
(training snapshots, trained models, reports). A container in Azure Blob Storage at scale, the data directory on the
embedded default; the same keys and `tailor://` URIs in both."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ._local_storage import LocalStorage
from ._storage_accounts import CONNECTION_STRING_SETTING

if TYPE_CHECKING:  # pydantic is not imported by the CLI's readers
    from ..settings import Settings

log = logging.getLogger(__name__)
CONTAINER_SETTING = "TAILOR_STORAGE_CONTAINER"
URL_SETTING = "TAILOR_ARTIFACTS_URL"


class Storage(Protocol):
    """Objects by key (see `check_key`); a bad key is a ValueError, every other failure a `tailor.errors.BlobError`
    naming the object's `tailor://` URI. Implementations are thread-safe: one serves a whole process."""

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` at `key`, replacing what was there. Atomic: a reader sees the old object or the new one,
        never part of one, and a put that fails leaves the old object as it was."""
        ...

    def get(self, key: str, max_bytes: int | None = None, *, truncate: bool = False) -> bytes:
        """The object at `key` (BlobNotFound when there is none). Over `max_bytes`: BlobTooLarge, or with
        `truncate` its first `max_bytes` bytes; never more than that is held in memory."""
        ...

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """`put` of a file's content, streamed: never all of it in memory."""
        ...

    def get_file(self, key: str, path: Path) -> int:
        """Write the object at `key` into the file `path` (created or replaced; its folder must exist), streamed;
        how many bytes. BlobNotFound when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object at `key`; nothing there is fine."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder `prefix` ("projects/<id>/"; whole parts only) and say how many."""
        ...

    def check(self) -> None:
        """Raise a BlobError unless the storage can be used now (a folder: writable; a container: its account
        answers). Quick: one try, a timeout of seconds, for readiness checks."""
        ...

    def uri(self, key: str) -> str:
        """`tailor://<key>`: what `BlobReader(policy, storage=...)` reads this object by."""
        ...

    def close(self) -> None:
        """Release connections; the storage is not used afterwards."""
        ...


def open_storage(settings: Settings) -> Storage:
    """The container of TAILOR_ARTIFACTS_URL when it is set (its credential: a SAS in the URL, else the key of
    TAILOR_STORAGE_CONNECTION_STRING for that account, else the host's Azure identity); else the container of
    TAILOR_STORAGE_CONTAINER in the account of TAILOR_STORAGE_CONNECTION_STRING when both are set; else
    `<data dir>/storage`. TAILOR_ARTIFACTS_URL wins over TAILOR_STORAGE_CONTAINER (a warning says so when they
    name different containers). Nothing is contacted yet: the container is created on the first put."""
    url = settings.artifacts_url.get_secret_value().strip() if settings.artifacts_url is not None else ""
    connection_string = (
        settings.storage_connection_string.get_secret_value() if settings.storage_connection_string else None
    )
    if url:  # unset, or set empty in a compose file: the next choice
        from ._azure_storage import AzureStorage  # azure-storage-blob is a slow import: only when configured

        try:
            storage = AzureStorage.at_url(
                url, connection_string=connection_string, timeout_s=settings.fetch_timeout_s,
                retries=settings.fetch_retries,
            )
        except ValueError as exc:
            raise ValueError(f"{URL_SETTING}: {exc}") from None
        if settings.storage_container and settings.storage_container != storage.container:
            log.warning("%s names container %r: %s=%r is ignored", URL_SETTING, storage.container,
                        CONTAINER_SETTING, settings.storage_container)
        return storage
    if not settings.storage_container:  # unset, or set empty (`TAILOR_STORAGE_CONTAINER=` in a compose file)
        return LocalStorage(settings.data_dir.expanduser().resolve() / "storage")
    if connection_string is None:
        raise ValueError(
            f"{CONTAINER_SETTING} is set but {CONNECTION_STRING_SETTING} is not: set the connection string of the "
            f"storage account that holds the container (or name the container by {URL_SETTING}), or unset "
            f"{CONTAINER_SETTING} to keep Tailor's objects in the data directory"
        )
    from ._azure_storage import AzureStorage  # azure-storage-blob is a slow import: only when configured

    try:
        return AzureStorage(
            connection_string, settings.storage_container,
            timeout_s=settings.fetch_timeout_s, retries=settings.fetch_retries,
        )
    except ValueError as exc:
        raise ValueError(f"{CONTAINER_SETTING}/{CONNECTION_STRING_SETTING}: {exc}") from None
