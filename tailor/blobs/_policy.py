"""What a reader may touch (`BlobPolicy`, built by the caller) and how one dataset's blobs are reached (`Access`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is not imported by the CLI's readers
    from ..settings import Settings


class AuthKind(str, Enum):
    """A dataset's `authentication.kind`, spelled as the Azure API spells it."""

    NONE = "none"
    MANAGED_IDENTITY = "managedIdentity"  # ours: the server's own storage credential, else anonymous
    SAS = "sas"


@dataclass(frozen=True)
class Access:
    """How to reach a dataset's blobs. Only Azure Blob URLs use it; other URLs are always read anonymously."""

    kind: AuthKind = AuthKind.NONE
    sas_token: str | None = field(default=None, repr=False)  # a secret: kept out of reprs and logs


@dataclass(frozen=True)
class BlobPolicy:
    """What a `BlobReader` may read. The CLI reads as its user (`local_user`); the service reads on behalf of
    callers it does not trust with its own network and disk (`from_settings`)."""

    # Local paths and file:// URIs: None = any path; () = none at all.
    data_roots: tuple[Path, ...] | None = None
    # Refuse hosts that resolve to loopback, private, link-local or metadata addresses (server-side request forgery).
    guard_addresses: bool = False
    # "host:port" entries reached despite the guard (Azurite on 127.0.0.1:10000, a private endpoint, ...).
    allow_hosts: frozenset[str] = frozenset()
    # Azure Storage connection strings: the server's own credential for `managedIdentity` datasets.
    storage_connection_strings: tuple[str, ...] = field(default=(), repr=False)
    # Seconds one network operation (connect, or one read of the body) may wait.
    timeout_s: float = 30.0
    # Retries of a read that failed for a transient reason (connection, timeout, HTTP 429/5xx).
    retries: int = 3
    # The first retry waits this long, each next one twice as long (or what Retry-After asks, when longer).
    retry_backoff_s: float = 0.5

    @classmethod
    def local_user(cls) -> BlobPolicy:
        """The CLI's policy: the user reads their own files and network, so everything is allowed."""
        return cls()

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobPolicy:
        """The service's policy: address guard on, local paths only under TAILOR_DATA_ROOTS (none when empty)."""
        secret = settings.storage_connection_string
        return cls(
            data_roots=tuple(Path(root) for root in settings.data_roots),
            guard_addresses=True,
            allow_hosts=frozenset(settings.allow_hosts),
            storage_connection_strings=(secret.get_secret_value(),) if secret is not None else (),
            timeout_s=settings.fetch_timeout_s,
            retries=settings.fetch_retries,
        )
