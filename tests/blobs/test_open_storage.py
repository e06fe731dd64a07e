"""`open_storage`: which storage the settings give."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from tailor.blobs import AzureStorage, LocalStorage, open_storage
from tailor.errors import BlobAccessDenied
from tailor.settings import Settings

from ..azurite import ACCOUNT, ACCOUNT_KEY, Azurite


def _settings(tmp_path: Path, **values: object) -> Settings:
    # Whatever the environment holds.
    values = {"storage_container": None, "storage_connection_string": None, "artifacts_url": None, **values}
    return Settings(data_dir=tmp_path / "data", **values)


def test_the_data_directory_by_default(tmp_path: Path) -> None:
    assert isinstance(open_storage(_settings(tmp_path, storage_container="")), LocalStorage)  # set empty: unset
    storage = open_storage(_settings(tmp_path))
    assert isinstance(storage, LocalStorage) and storage.root == (tmp_path / "data" / "storage").resolve()
    storage.put("projects/p/x.bin", b"x")
    assert (tmp_path / "data" / "storage" / "projects" / "p" / "x.bin").read_bytes() == b"x"


def test_a_connection_string_alone_keeps_the_data_directory(tmp_path: Path, azurite: Azurite) -> None:
    # The connection string also serves `managedIdentity` datasets: it does not move Tailor's own objects.
    settings = _settings(tmp_path, storage_connection_string=azurite.connection_string)
    assert isinstance(open_storage(settings), LocalStorage)


def test_a_container_with_a_connection_string(tmp_path: Path, azurite: Azurite) -> None:
    settings = _settings(
        tmp_path, storage_container="tailor-own", storage_connection_string=azurite.connection_string
    )
    storage = open_storage(settings)
    try:
        assert isinstance(storage, AzureStorage) and storage.container == "tailor-own"
        storage.put("projects/p/x.bin", b"x")
        again = open_storage(settings)  # another process, say: the same container
        assert again.get("projects/p/x.bin") == b"x"
        again.close()
        assert not (tmp_path / "data").exists()
    finally:
        storage.close()


def test_a_container_without_a_connection_string_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TAILOR_STORAGE_CONTAINER is set but TAILOR_STORAGE_CONNECTION_STRING is not"):
        open_storage(_settings(tmp_path, storage_container="tailor-own"))


def test_a_bad_container_name_names_the_setting(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, storage_container="Tailor_Own", storage_connection_string="UseDevelopmentStorage=true"
    )
    with pytest.raises(ValueError, match="TAILOR_STORAGE_CONTAINER.*'Tailor_Own' is not a valid container name"):
        open_storage(settings)


def test_settings_read_the_container_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILOR_STORAGE_CONTAINER", "tailor-own")
    assert Settings().storage_container == "tailor-own"


# TAILOR_ARTIFACTS_URL: the container named by its URL.


def _container() -> str:
    return f"artifacts-{uuid.uuid4().hex[:12]}"


def test_a_container_url_with_the_connection_string_of_its_account(tmp_path: Path, azurite: Azurite) -> None:
    url = f"{azurite.blob_endpoint}/{_container()}"
    settings = _settings(tmp_path, artifacts_url=url, storage_connection_string=azurite.connection_string)
    storage = open_storage(settings)
    try:
        assert isinstance(storage, AzureStorage) and storage.container == url.rsplit("/", 1)[1]
        storage.put("models/m/attempt-1/config.json", b"{}")
        again = AzureStorage(azurite.connection_string, storage.container)  # the same container by its name
        assert again.get("models/m/attempt-1/config.json") == b"{}"
        again.close()
        assert not (tmp_path / "data").exists()
    finally:
        storage.close()


def test_a_container_url_with_a_sas_needs_no_connection_string(tmp_path: Path, azurite: Azurite) -> None:
    container = _container()
    azurite.container(container, public=False)
    sas = generate_container_sas(
        ACCOUNT, container, account_key=ACCOUNT_KEY, expiry=datetime.now(UTC) + timedelta(hours=1),
        permission=ContainerSasPermissions(read=True, write=True, list=True, delete=True),
    )
    storage = open_storage(_settings(tmp_path, artifacts_url=f"{azurite.blob_endpoint}/{container}?{sas}"))
    try:
        storage.put("models/m/a.bin", b"a")
        assert storage.get("models/m/a.bin") == b"a" and storage.delete_prefix("models/m") == 1
    finally:
        storage.close()
    read_only = generate_container_sas(
        ACCOUNT, container, account_key=ACCOUNT_KEY, expiry=datetime.now(UTC) + timedelta(hours=1),
        permission=ContainerSasPermissions(read=True),
    )
    storage = open_storage(_settings(tmp_path, artifacts_url=f"{azurite.blob_endpoint}/{container}?{read_only}"))
    try:
        with pytest.raises(BlobAccessDenied, match="check that the SAS of the URL is current") as denied:
            storage.put("models/m/a.bin", b"a")
        assert "sig=" not in str(denied.value) and read_only.split("sig=")[1] not in str(denied.value)
    finally:
        storage.close()


def test_the_url_wins_over_the_container_setting(
    tmp_path: Path, azurite: Azurite, caplog: pytest.LogCaptureFixture
) -> None:
    container = _container()
    settings = _settings(tmp_path, artifacts_url=f"{azurite.blob_endpoint}/{container}",
                         storage_container="tailor-other", storage_connection_string=azurite.connection_string)
    with caplog.at_level(logging.WARNING, "tailor.blobs._storage"):
        storage = open_storage(settings)
    assert storage.container == container
    assert f"TAILOR_ARTIFACTS_URL names container {container!r}: TAILOR_STORAGE_CONTAINER='tailor-other' is ignored" \
        in caplog.text
    storage.close()
    caplog.clear()
    same = _settings(tmp_path, artifacts_url=f"{azurite.blob_endpoint}/{container}", storage_container=container,
                     storage_connection_string=azurite.connection_string)
    open_storage(same).close()
    assert caplog.text == ""  # both naming the same container is no conflict
    empty = _settings(tmp_path, artifacts_url="", storage_container=container,
                      storage_connection_string=azurite.connection_string)
    assert open_storage(empty).container == container  # set empty: unset


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:10000/devstoreaccount1/tailor", "the URL has no credential: give it a SAS"),
        ("https://acct.blob.core.windows.net/tailor", "the URL has no credential"),
        ("https://acct.blob.core.windows.net/", "the URL names no container"),
        ("https://acct.blob.core.windows.net/tailor/models?sig=x", "the URL names a folder inside container 'tailor'"),
        ("https://acct.blob.core.windows.net/Tailor_X?sig=x", "'Tailor_X' is not a valid container name"),
        ("ftp://acct/tailor", "not an http\\(s\\) URL of a container"),
    ],
)
def test_a_container_url_that_cannot_be_used_names_the_setting(
    tmp_path: Path, url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                     "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)  # no Azure identity on this host
    with pytest.raises(ValueError, match=f"TAILOR_ARTIFACTS_URL: {message}"):
        open_storage(_settings(tmp_path, artifacts_url=url))


def test_settings_read_the_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILOR_ARTIFACTS_URL", "https://acct.blob.core.windows.net/tailor?sv=1&sig=s3cr3t-signature")
    settings = Settings()
    assert "s3cr3t" not in repr(settings)
    assert settings.artifacts_url is not None
    assert settings.artifacts_url.get_secret_value().endswith("sig=s3cr3t-signature")
