"""Azure Blob URLs, read with azure-storage-blob from a real Azurite, with each kind of authentication."""

from __future__ import annotations

import time
import uuid

import pytest

from tailor.blobs import Access, AuthKind, BlobPolicy, BlobReader, read_blob
from tailor.errors import BlobAccessDenied, BlobNotFound, BlobRefused, BlobTooLarge, BlobUnreachable

from ..azurite import Azurite

MANAGED_IDENTITY = Access(AuthKind.MANAGED_IDENTITY)


@pytest.fixture(autouse=True)
def no_ambient_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine's environment, the server has no Azure identity of its own here."""
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def _reader(azurite: Azurite, *, credential: bool = False, allowed: bool = True) -> BlobReader:
    """The service's reader: guard on, Azurite allowed, and its connection string configured when `credential`."""
    return BlobReader(
        BlobPolicy(
            data_roots=(),
            guard_addresses=True,
            allow_hosts=frozenset({azurite.host_port} if allowed else ()),
            storage_connection_strings=(azurite.connection_string,) if credential else (),
            timeout_s=5,
            retries=1,
            retry_backoff_s=0.01,
        )
    )


@pytest.fixture
def public_blob(azurite: Azurite) -> str:
    container = f"public-{uuid.uuid4().hex[:12]}"
    azurite.container(container, public=True)
    return azurite.upload(container, "folder/a b.json", b'{"public": true}')


@pytest.fixture
def private_blob(azurite: Azurite) -> tuple[str, str, str]:
    """(URL, container, blob name) of a blob in a private container."""
    container = f"private-{uuid.uuid4().hex[:12]}"
    azurite.container(container, public=False)
    return azurite.upload(container, "deep/er/c.json", b'{"private": true}'), container, "deep/er/c.json"


def test_public_container_anonymously(azurite: Azurite, public_blob: str) -> None:
    assert _reader(azurite).read(public_blob, access=Access(AuthKind.NONE), max_bytes=100) == b'{"public": true}'
    assert read_blob(public_blob, max_bytes=100) == b'{"public": true}'  # the CLI: no guard, no credential


def test_managed_identity_without_a_credential_reads_public_containers(azurite: Azurite, public_blob: str) -> None:
    # What the official sample client does against Azurite: always `managedIdentity`, nothing configured.
    assert _reader(azurite).read(public_blob, access=MANAGED_IDENTITY, max_bytes=100) == b'{"public": true}'


def test_managed_identity_uses_the_configured_connection_string(azurite: Azurite, private_blob) -> None:
    url, _, _ = private_blob
    reader = _reader(azurite, credential=True)
    assert reader.read(url, access=MANAGED_IDENTITY, max_bytes=100) == b'{"private": true}'
    # The server's key is its own: a dataset that asks for no authentication does not get it.
    with pytest.raises(BlobAccessDenied):
        reader.read(url, access=Access(AuthKind.NONE), max_bytes=100)


def test_sas_token(azurite: Azurite, private_blob) -> None:
    url, container, name = private_blob
    token = azurite.sas_for(container, name)
    reader = _reader(azurite)
    assert reader.read(url, access=Access(AuthKind.SAS, token), max_bytes=100) == b'{"private": true}'
    assert reader.read(url, access=Access(AuthKind.SAS, "?" + token), max_bytes=100) == b'{"private": true}'
    assert reader.read(f"{url}?{token}", max_bytes=100) == b'{"private": true}'  # a SAS in the URL itself


def test_private_container_without_credentials_is_access_denied(azurite: Azurite, private_blob) -> None:
    url, _, _ = private_blob
    for access in (Access(AuthKind.NONE), MANAGED_IDENTITY):
        with pytest.raises(BlobAccessDenied, match="HTTP 403, AuthorizationFailure.*SAS token"):
            _reader(azurite).read(url, access=access, max_bytes=100)
    with pytest.raises(BlobAccessDenied, match="needs a SAS token"):
        _reader(azurite).read(url, access=Access(AuthKind.SAS), max_bytes=100)


def test_missing_blob_and_container(azurite: Azurite, public_blob: str, private_blob) -> None:
    with pytest.raises(BlobNotFound, match="BlobNotFound"):
        _reader(azurite).read(public_blob + ".missing", max_bytes=100)
    url, _, _ = private_blob
    with pytest.raises(BlobNotFound, match="BlobNotFound"):
        _reader(azurite, credential=True).read(url + ".missing", access=MANAGED_IDENTITY, max_bytes=100)
    with pytest.raises(BlobNotFound, match="ContainerNotFound"):
        _reader(azurite, credential=True).read(
            f"{azurite.blob_endpoint}/no-such-container/x.json", access=MANAGED_IDENTITY, max_bytes=100
        )


def test_size_limit(azurite: Azurite, private_blob) -> None:
    _, container, _ = private_blob
    url = azurite.upload(container, "big.bin", b"x" * 5000)
    reader = _reader(azurite, credential=True)
    with pytest.raises(BlobTooLarge) as info:
        reader.read(url, access=MANAGED_IDENTITY, max_bytes=4999)
    assert info.value.size == 5000
    assert reader.read(url, access=MANAGED_IDENTITY, max_bytes=5000) == b"x" * 5000
    assert reader.read(url, access=MANAGED_IDENTITY, max_bytes=7, truncate=True) == b"x" * 7
    empty = azurite.upload(container, "empty.bin", b"")
    assert reader.read(empty, access=MANAGED_IDENTITY, max_bytes=10) == b""


def test_annotation_file_and_image_fetcher(azurite: Azurite, private_blob) -> None:
    url, container, name = private_blob
    access = Access(AuthKind.SAS, azurite.sas_for(container, name))
    source = _reader(azurite).annotation_file(url, access=access, max_bytes=100)
    assert (source.name, source.data, source.base_uri) == (url, b'{"private": true}', url)
    assert _reader(azurite).image_fetcher(access)(url, 4) == b'{"pr'


def test_azurite_is_reached_only_when_allowed(azurite: Azurite, public_blob: str) -> None:
    started = time.monotonic()
    for credential in (False, True):
        with pytest.raises(BlobRefused, match=f"{azurite.host_port.replace('.', '[.]')}.*TAILOR_ALLOW_HOSTS"):
            _reader(azurite, credential=credential, allowed=False).read(
                public_blob, access=MANAGED_IDENTITY, max_bytes=100
            )
    assert time.monotonic() - started < 1.0


def test_messages_never_show_a_signature(azurite: Azurite, private_blob) -> None:
    url, container, name = private_blob
    token = azurite.sas_for(container, name)
    signature = dict(part.split("=", 1) for part in token.split("&"))["sig"]
    with pytest.raises(BlobAccessDenied) as info:  # the token is for another blob
        _reader(azurite).read(f"{url}.other?{token}", max_bytes=100)
    assert signature not in str(info.value) and "sig=REDACTED" in str(info.value)


def test_an_unreachable_endpoint_is_a_clear_error_without_the_signature(azurite: Azurite, private_blob) -> None:
    url, container, name = private_blob
    token = azurite.sas_for(container, name)
    signature = dict(part.split("=", 1) for part in token.split("&"))["sig"]
    dead = url.replace(azurite.host_port, "127.0.0.1:9")  # port 9 (discard): nothing listens
    reader = BlobReader(BlobPolicy(guard_addresses=True, allow_hosts=frozenset({"127.0.0.1:9"}), retries=0))
    with pytest.raises(BlobUnreachable, match="cannot connect") as info:
        reader.read(dead, access=Access(AuthKind.SAS, token), max_bytes=100)
    assert signature not in str(info.value)
