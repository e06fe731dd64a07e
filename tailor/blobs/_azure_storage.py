"""Tailor's own objects as blobs in one container of an Azure Storage account (Azurite in development), reached
with the account's connection string, or by the container's URL (a SAS in it, the connection string's key, or the
host's Azure identity); the SDK's errors translated into Tailor's here.

Imported only when such a container is configured (azure-storage-blob takes a quarter second to import).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobServiceClient, ContentSettings

from ..errors import BlobAccessDenied, BlobNotFound, BlobUnreachable
from ._azure import download_at_most, retry_policy
from ._azure_urls import azure_container_address
from ._credentials import Credential, ambient_credential, ambient_identity_configured
from ._keys import ROOT_URI, check_key, check_prefix, own_uri
from ._locations import shown as redacted
from ._storage_accounts import CONNECTION_STRING_SETTING, parse_connection_string

if TYPE_CHECKING:
    # What delete_blobs yields, as the SDK annotates it (the legacy transport's response, not azure.core.rest's).
    from azure.core.pipeline.transport import HttpResponse

_CONTAINER_NAME = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")
_RETRY_BACKOFF_S = 0.5
_BATCH = 256  # the most sub-requests one blob batch may carry
_CHECK_TIMEOUT_S = 2.0


class AzureStorage:
    def __init__(self, connection_string: str, container: str, *, timeout_s: float = 30.0, retries: int = 3):
        _check_container(container)
        try:
            service = BlobServiceClient.from_connection_string(connection_string, **_options(timeout_s, retries))
        except ValueError:  # the SDK's message does not repeat the string, nor does this one: it holds a key
            raise ValueError(
                "the connection string is malformed; copy it from the storage account's access keys "
                "(AccountName=...;AccountKey=...;...)"
            ) from None
        hint = (
            f"check that {CONNECTION_STRING_SETTING} holds a current key of the account of container {container!r}, "
            "or a SAS that may read, write, list and delete"
        )
        self._open(service, container, hint)

    @classmethod
    def at_url(
        cls, url: str, *, connection_string: str | None = None, timeout_s: float = 30.0, retries: int = 3
    ) -> AzureStorage:
        """The container of an Azure Blob container URL (`https://ACCOUNT.blob.core.windows.net/CONTAINER`, or
        Azurite's `http://HOST:PORT/ACCOUNT/CONTAINER`). Its credential: a SAS in the URL; else the key (or SAS)
        of `connection_string` when the URL is in that account; else, over https, the host's Azure identity.
        ValueError saying what is missing; no message repeats the URL's query or the connection string."""
        accounts = [parse_connection_string(connection_string)] if connection_string else []
        address = azure_container_address(url, accounts)
        _check_container(address.container)
        credential: Credential
        if "sig=" in address.query.lower():
            credential, hint = address.query.lstrip("?"), "check that the SAS of the URL is current"
        elif address.account is not None and address.account.account_key and address.account.name:
            credential = AzureNamedKeyCredential(address.account.name, address.account.account_key)
            hint = f"check that {CONNECTION_STRING_SETTING} holds a current key of the account"
        elif address.account is not None and address.account.sas_token:
            credential = address.account.sas_token.lstrip("?")
            hint = f"check that the SAS of {CONNECTION_STRING_SETTING} is current"
        elif address.account_url.lower().startswith("https:") and ambient_identity_configured():
            credential = ambient_credential()
            hint = "check that this host's Azure identity has the Storage Blob Data Contributor role on the container"
        else:
            raise ValueError(
                "the URL has no credential: give it a SAS that may read, write, list and delete "
                f"(...?sv=...&sig=...), or set {CONNECTION_STRING_SETTING} to the connection string of its account"
            )
        try:
            service = BlobServiceClient(address.account_url, credential=credential, **_options(timeout_s, retries))
        except ValueError as exc:
            raise ValueError(f"not a usable container URL ({redacted(str(exc))})") from None
        storage = cls.__new__(cls)
        storage._open(service, address.container, f"{hint}, and that it may read, write, list and delete")
        return storage

    def _open(self, service: BlobServiceClient, container: str, access_hint: str) -> None:
        self._service = service
        self.container = container
        self._container = service.get_container_client(container)
        self._access_hint = access_hint

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # One Put Blob, or staged blocks committed by one Put Block List for large data: either way the new
        # content appears at once, and a failed upload leaves the old blob.
        blob = self._container.get_blob_client(check_key(key))
        settings = ContentSettings(content_type=content_type) if content_type else None
        with self._translated(key):
            self._creating_container(lambda: blob.upload_blob(data, overwrite=True, content_settings=settings))

    def _creating_container(self, upload: Callable[[], object]) -> None:
        try:
            upload()
        except ResourceNotFoundError as exc:
            if _code(exc) != "ContainerNotFound":
                raise
            # Created on first use, not when opened, so that the service starts while the account is
            # unreachable, and a container deleted by hand comes back.
            with suppress(ResourceExistsError):
                self._container.create_container()  # private: no public access
            upload()

    def get(self, key: str, max_bytes: int | None = None, *, truncate: bool = False) -> bytes:
        blob = self._container.get_blob_client(check_key(key))
        with self._translated(key):
            if max_bytes is None:
                return blob.download_blob(max_concurrency=1).readall()
            return download_at_most(blob, self.uri(key), max_bytes, truncate)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        blob = self._container.get_blob_client(check_key(key))
        settings = ContentSettings(content_type=content_type) if content_type else None
        with self._translated(key), open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size

            def upload() -> None:
                file.seek(0)
                blob.upload_blob(file, length=size, overwrite=True, content_settings=settings, max_concurrency=2)

            self._creating_container(upload)

    def get_file(self, key: str, path: Path) -> int:
        blob = self._container.get_blob_client(check_key(key))
        with self._translated(key):
            download = blob.download_blob(max_concurrency=2)
            with open(path, "wb") as file:
                return download.readinto(file)

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
            return BlobAccessDenied(uri, f"access denied (HTTP {status}{code_shown}); {self._access_hint}")
        return BlobUnreachable(uri, f"Azure Storage answered HTTP {status}{code_shown}")


def _check_container(container: str) -> None:
    if not _CONTAINER_NAME.fullmatch(container):
        raise ValueError(
            f"{container!r} is not a valid container name: 3 to 63 lower-case letters, digits and single "
            "hyphens, starting and ending with a letter or digit"
        )


def _options(timeout_s: float, retries: int) -> dict[str, Any]:
    return {
        "retry_policy": retry_policy(retries, _RETRY_BACKOFF_S),
        "connection_timeout": timeout_s,
        "read_timeout": timeout_s,
    }


def _uri(key: str) -> str:
    return own_uri(key) if key else ROOT_URI


def _code(exc: HttpResponseError) -> str:
    # Sometimes a StorageErrorCode enum. The storage SDK sets error_code on every error it raises; azure-core's
    # HttpResponseError does not declare it.
    return str(getattr(exc.error_code, "value", exc.error_code) or "")  # type: ignore[attr-defined]
