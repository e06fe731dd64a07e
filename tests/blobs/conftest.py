"""Fixtures of the blob layer's tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tailor.blobs import AzureStorage, LocalStorage, Storage

from ..azurite import Azurite
from .servers import ScriptedServer


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture(params=["local", "azure"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each implementation of Tailor's own storage: files under a fresh folder, or a fresh container (not created
    yet: the first put creates it) in a real Azurite."""
    if request.param == "local":
        yield LocalStorage(tmp_path / "storage")
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    opened = AzureStorage(azurite.connection_string, f"own-{uuid.uuid4().hex[:12]}", timeout_s=5, retries=1)
    try:
        yield opened
    finally:
        opened.close()
