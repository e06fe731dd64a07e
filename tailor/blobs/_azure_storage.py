"""Tailor's own objects as blobs in one container of an Azure Storage account (Azurite in development), reached
with the account's connection string; the SDK's errors translated into Tailor's here.

Imported only when such a container is configured (azure-storage-blob takes a quarter second to import).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpResponse
from azure.storage.blob import BlobServiceClient, ContentSettings

from ..errors import BlobAccessDenied, BlobNotFound, BlobUnreachable
from ._azure import download_at_most, retry_policy
from ._keys import ROOT_URI, check_key, check_prefix, own_uri
from ._locations import shown as redacted
from ._storage_accounts import CONNECTION_STRING_SETTING

_CONTAINER_NAME = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")
_RETRY_BACKOFF_S = 0.5
_BATCH = 256  # the most sub-requests one blob batch may carry
_CHECK_TIMEOUT_S = 2.0


class AzureStorage:
    def __init__(self, connection_string: str, container: str, *, timeout_s: float = 30.0, retries: int = 3):
        if not _CONTAINER_NAME.fullmatch(container):
            raise ValueError(
                f"{container!r} is not a valid container name: 3 to 63 lower-case letters, digits and single "
                "hyphens, starting and ending with a letter or digit"
            )
        try:
            self._service = BlobServiceClient.from_connection_string(
                connection_string,
                retry_policy=retry_policy(retries, _RETRY_BACKOFF_S),
                connection_timeout=timeout_s,
                read_timeout=timeout_s,
            )
        except ValueError:  # the SDK's message does not repeat the string, nor does this one: it holds a key
            raise ValueError(
                "the connection string is malformed; copy it from the storage account's access keys "
                "(AccountName=...;AccountKey=...;...)"
            ) from None
        self.container = container
        self._container = self._service.get_container_client(container)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # One Put Blob, or staged blocks committed by one Put Block List for large data: either way the new
        # content appears at once, and a failed upload leaves the old blob.
        blob = self._container.get_blob_client(check_key(key))
        settings = ContentSettings(content_type=content_type) if content_type else None
        with self._translated(key):
            try:
                blob.upload_blob(data, overwrite=True, content_settings=settings)
            except ResourceNotFoundError as exc:
                if _code(exc) != "ContainerNotFound":
                    raise
                # Created on first use, not when opened, so that the service starts while the account is
                # unreachable, and a container deleted by hand comes back.
                with suppress(ResourceExistsError):
                    self._container.create_container()  # private: no public access
                blob.upload_blob(data, overwrite=True, content_settings=settings)

    def get(self, key: str, max_bytes: int | None = None, *, truncate: bool = False) -> bytes:
        blob = self._container.get_blob_client(check_key(key))
        with self._translated(key):
            if max_bytes is None:
                return blob.download_blob(max_concurrency=1).readall()
            return download_at_most(blob, self.uri(key), max_bytes, truncate)

    def exists(self, key: str) -> bool:
        blob = self._container.get_blob_client(check_key(key))
        with self._translated(key):
            return blob.exists()

    def delete(self, key: str) -> None:
        blob = self._container.get_blob_client(check_key(key))
        with self._translated(key), suppress(ResourceNotFoundError):
            blob.delete_blob(delete_snapshots="include")

    def delete_prefix(self, prefix: str) -> int:
        folder = check_prefix(prefix)
        deleted = 0
        with self._translated(folder[:-1]):
            batch: list[str] = []
            try:
                # Deleting while listing is safe: the listing continues after the last name it returned.
                for blob in self._container.list_blobs(name_starts_with=folder):
                    batch.append(blob.name)
                    if len(batch) == _BATCH:
                        deleted += self._delete_batch(batch)
                        batch = []
            except ResourceNotFoundError:  # no container yet: nothing was ever stored
                return deleted
            if batch:
                deleted += self._delete_batch(batch)
        return deleted

    def check(self) -> None:
        # The container's properties, once, within _CHECK_TIMEOUT_S: a container not made yet is fine (the first
        # put makes it); an account that does not answer, or refuses the key, is not.
        with self._translated(""), suppress(ResourceNotFoundError):
            self._container.get_container_properties(
                retry_total=0, connection_timeout=_CHECK_TIMEOUT_S, read_timeout=_CHECK_TIMEOUT_S
            )

    def uri(self, key: str) -> str:
        return own_uri(key)

    def close(self) -> None:
        self._service.close()

    def _delete_batch(self, names: list[str]) -> int:
        """Delete `names` in one request (a blob batch); how many were there."""
        answers = self._container.delete_blobs(*names, delete_snapshots="include", raise_on_any_failure=False)
        deleted = 0
        for name, answer in zip(names, answers):
            if answer.status_code == 202:
                deleted += 1
            elif answer.status_code != 404:  # 404: deleted meanwhile by someone else
                raise self._answer_error(name, answer)
        return deleted

    def _answer_error(self, key: str, answer: HttpResponse) -> Exception:
        code = answer.headers.get("x-ms-error-code", "")
        return self._error(key, answer.status_code, code)

    @contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        """The SDK's errors as Tailor's, naming the object at `key` (the whole storage for "")."""
        uri = _uri(key)
        try:
            yield
        except HttpResponseError as exc:  # ClientAuthenticationError included
            if exc.status_code is None and isinstance(exc, ClientAuthenticationError):
                raise BlobAccessDenied(uri, f"could not authenticate ({redacted(exc.message)})") from None
            raise self._error(key, exc.status_code, _code(exc)) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            # The SDK's message may repeat a request's URL, a SAS of the connection string included: blanked.
            where = f"the storage account of container {self.container!r}"
            raise BlobUnreachable(uri, f"cannot connect to {where} ({redacted(exc.message)})") from None
        except AzureError as exc:
            raise BlobUnreachable(uri, f"the storage failed ({type(exc).__name__}: {redacted(exc.message)})") from None

    def _error(self, key: str, status: int | None, code: str) -> Exception:
        uri, code_shown = _uri(key), f", {code}" if code else ""
        if status == 404:
            return BlobNotFound(uri, f"no such object (HTTP 404{code_shown})")
        if status in (401, 403):
            return BlobAccessDenied(
                uri,
                f"access denied (HTTP {status}{code_shown}); check that {CONNECTION_STRING_SETTING} holds a current "
                f"key of the account of container {self.container!r}, or a SAS that may read, write, list and delete",
            )
        return BlobUnreachable(uri, f"Azure Storage answered HTTP {status}{code_shown}")


def _uri(key: str) -> str:
    return own_uri(key) if key else ROOT_URI


def _code(exc: HttpResponseError) -> str:
    return str(getattr(exc.error_code, "value", exc.error_code) or "")  # sometimes a StorageErrorCode enum
