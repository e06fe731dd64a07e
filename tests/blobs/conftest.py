"""Fixtures of the blob reader's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .servers import ScriptedServer


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server
