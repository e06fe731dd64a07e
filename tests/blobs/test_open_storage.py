"""`open_storage`: which storage the settings give."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.blobs import AzureStorage, LocalStorage, open_storage
from tailor.settings import Settings

from ..azurite import Azurite


def _settings(tmp_path: Path, **values: object) -> Settings:
    values = {"storage_container": None, "storage_connection_string": None, **values}  # whatever the environment
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
