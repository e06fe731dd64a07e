"""Recognizing Azure Blob Storage URLs and splitting them into account, container and blob.

Two URL styles: the cloud's (`https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB`) and Azurite's path style
(`http://127.0.0.1:10000/ACCOUNT/CONTAINER/BLOB`). The SDK's own `from_blob_url` guesses the style from the host
name and splits a blob name with folders wrongly on hosts it does not know (`http://azurite:10000/...`), so the
split is done here, from what the server knows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import BlobUnsupported
from ._addresses import HostPort
from ._storage_accounts import AZURITE_ACCOUNT, StorageAccount

AZURE_BLOB_HOST_SUFFIXES = (".blob.core.windows.net", ".blob.core.chinacloudapi.cn", ".blob.core.usgovcloudapi.net")


@dataclass(frozen=True)
class BlobAddress:
    account_url: str  # what BlobClient takes: "https://acct.blob.core.windows.net", "http://h:p/devstoreaccount1"
    container: str
    blob: str
    query: str  # as the URL has it: a SAS of its own, snapshot=, versionid=
    account: StorageAccount | None  # the server's account for this endpoint, when it has one

    @property
    def https(self) -> bool:
        return self.account_url.lower().startswith("https:")


def azure_blob_address(
    url: str,
    accounts: Sequence[StorageAccount],
    path_style_host_ok: Callable[[HostPort], bool],
    shown: str,
) -> BlobAddress | None:
    """The blob `url` names when it is an Azure Blob URL, else None (an ordinary URL).

    Path-style URLs count as Azure's when under a configured account's endpoint, or when their first segment is
    Azurite's account and `path_style_host_ok` accepts the host: credentials, a SAS included, are only ever sent to
    the cloud's hosts, to configured endpoints and to hosts the administrator allowed."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    for account in accounts:
        if account.contains(url):
            rest = parts.path[len(urlsplit(account.blob_endpoint).path.rstrip("/")) :]
            return _split(account.blob_endpoint, rest, parts.query, account, shown)
    host = (parts.hostname or "").rstrip(".")
    if host.endswith(AZURE_BLOB_HOST_SUFFIXES):
        return _split(origin, parts.path, parts.query, None, shown)
    first, _, rest = parts.path.lstrip("/").partition("/")
    if first == AZURITE_ACCOUNT and path_style_host_ok(HostPort.of_url(url)):
        return _split(f"{origin}/{first}", "/" + rest, parts.query, None, shown)
    return None


def _split(account_url: str, path: str, query: str, account: StorageAccount | None, shown: str) -> BlobAddress:
    container, _, blob = path.lstrip("/").partition("/")
    if not container or not blob:
        raise BlobUnsupported(shown, "an Azure Blob URL names a container and a blob: .../CONTAINER/BLOB")
    return BlobAddress(account_url, unquote(container), unquote(blob), query, account)


@dataclass(frozen=True)
class ContainerAddress:
    account_url: str  # as in BlobAddress
    container: str
    query: str  # a SAS, when the URL carries one
    account: StorageAccount | None  # the server's account for this endpoint, when it has one


def azure_container_address(url: str, accounts: Sequence[StorageAccount]) -> ContainerAddress:
    """The container an Azure Blob container URL names: `https://ACCOUNT.blob.core.windows.net/CONTAINER`, or
    path style `http://HOST:PORT/ACCOUNT/CONTAINER` (Azurite), either with a SAS as its query. ValueError saying
    what is wrong otherwise; the message never repeats the query, which may hold a SAS."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL of a container (https://ACCOUNT.blob.core.windows.net/CONTAINER)")
    if parts.fragment or "@" in parts.netloc:
        raise ValueError("a container URL has no user name or fragment")
    origin = f"{parts.scheme}://{parts.netloc}"
    for account in accounts:
        if account.contains(url.strip()):
            rest = parts.path[len(urlsplit(account.blob_endpoint).path.rstrip("/")) :]
            return ContainerAddress(account.blob_endpoint, _container(rest), parts.query, account)
    if (parts.hostname or "").rstrip(".").endswith(AZURE_BLOB_HOST_SUFFIXES):
        return ContainerAddress(origin, _container(parts.path), parts.query, None)
    first, _, rest = parts.path.lstrip("/").partition("/")
    if not first:
        raise ValueError("a path-style URL names the account, then the container: http://HOST:PORT/ACCOUNT/CONTAINER")
    return ContainerAddress(f"{origin}/{first}", _container(rest), parts.query, None)


def _container(path: str) -> str:
    container, _, deeper = unquote(path).strip("/").partition("/")
    if not container:
        raise ValueError("the URL names no container: .../CONTAINER")
    if deeper:
        raise ValueError(f"the URL names a folder inside container {container!r}; name the container alone")
    return container
