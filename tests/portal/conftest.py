"""A live Tailor for the portal's browser tests: uvicorn serving the app (portal included) with its storage in a real
Azurite container and metadata in SQLite, one per test module, so that a module's tests share what they create."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.customvision.conftest import CLASSIFIER_BUDGET_HOURS, Tailor, live_tailor


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, azurite) -> Iterator[Tailor]:
    root = tmp_path_factory.mktemp("portal")
    yield from live_tailor(root, azurite, f"sqlite:///{root / 'tailor.db'}", CLASSIFIER_BUDGET_HOURS)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder
