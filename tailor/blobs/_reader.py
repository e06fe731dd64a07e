"""`BlobReader`: the one place through which Tailor reads user data (and its own objects), whatever the location."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..coco import CocoSource
from ..errors import BlobUnsupported
from ._addresses import AddressGuard
from ._azure_urls import azure_blob_address
from ._http import HttpReader
from ._keys import key_of_uri
from ._local import LocalReader
from ._locations import Scheme, local_path, scheme_of, shown, to_uri
from ._policy import Access, BlobPolicy
from ._storage_accounts import StorageAccount, parse_connection_string

if TYPE_CHECKING:
    from ._azure import AzureReader
    from ._storage import Storage


class BlobReader:
    """Reads local paths, file:// URIs, Azure Blob URLs and other http(s) URLs within what `policy` allows, and
    `tailor://` URIs from `storage`, Tailor's own (none: such URIs are BlobUnsupported).
    Thread-safe: one reader serves a whole process. Errors are `tailor.errors.BlobError`s; configuration errors
    in the policy (a malformed connection string or allow-list entry) are ValueErrors, raised here."""

    def __init__(self, policy: BlobPolicy, storage: Storage | None = None):
        self._policy = policy
        self._storage = storage
        self._guard = AddressGuard(policy.guard_addresses, policy.allow_hosts)
        self._accounts: tuple[StorageAccount, ...] = tuple(
            parse_connection_string(text) for text in policy.storage_connection_strings
        )
        self._local = LocalReader(policy.data_roots)
        self._http = HttpReader(policy, self._guard)
        self._azure: AzureReader | None = None

    def read(self, uri: str, *, access: Access = Access(), max_bytes: int, truncate: bool = False) -> bytes:
        """The bytes at `uri`. Over `max_bytes`: BlobTooLarge, or with `truncate` the first `max_bytes` bytes;
        never more than that is held in memory (or, from Azure, downloaded)."""
        name = shown(uri)
        scheme = scheme_of(uri)
        if scheme in (Scheme.PATH, Scheme.FILE):
            return self._local.read(local_path(uri, scheme), name, max_bytes, truncate)
        if scheme is Scheme.TAILOR:
            return self._own(uri, name, max_bytes, truncate)
        address = azure_blob_address(uri, self._accounts, self._guard.allows_by_name, name)
        if address is None:
            return self._http.read(uri, max_bytes, truncate)
        self._guard.check(uri, name)  # the SDK connects by name: the check is all the guard can do here
        return self._azure_reader().read(address, access, name, max_bytes, truncate)

    def annotation_file(self, uri: str, *, access: Access = Access(), max_bytes: int) -> CocoSource:
        """A COCO file, ready for `tailor.coco.validate_coco`: named as given, with its absolute URI as the base
        that relative image references resolve against."""
        return CocoSource(uri, self.read(uri, access=access, max_bytes=max_bytes), to_uri(uri))

    def image_fetcher(self, access: Access) -> Callable[[str, int], bytes]:
        """The fetch function `tailor.coco.check_images` takes: (url, limit) -> at most `limit` bytes."""
        return lambda url, limit: self.read(url, access=access, max_bytes=limit, truncate=True)

    def _own(self, uri: str, name: str, max_bytes: int, truncate: bool) -> bytes:
        """An object of Tailor's own storage. Neither the data roots nor the address guard apply: Tailor wrote it,
        in the container the operator configured; whoever may give this reader a URI may read any such object."""
        if self._storage is None:
            raise BlobUnsupported(
                name,
                "tailor:// URIs name objects in Tailor's own storage, which this reader was not given; "
                "give a local path or a file://, http:// or https:// URI",
            )
        return self._storage.get(key_of_uri(uri, name), max_bytes, truncate=truncate)

    def _azure_reader(self) -> AzureReader:
        if self._azure is None:
            # azure-storage-blob takes a quarter second to import: only when used. Two threads racing here build
            # two readers, which is harmless.
            from ._azure import AzureReader

            self._azure = AzureReader(self._policy)
        return self._azure

