"""`/ready`: the database, Redis and Tailor's storage, each reached for real; 503 naming what is not reachable,
quickly, and without a key (like /health), on both APIs' gateways."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.settings import Settings
from tests.azurite import Azurite
from tests.databases import ADMIN_URL

from .conftest import free_port, make_settings

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def ready(settings: Settings, before: object = None) -> tuple[int, dict, float]:
    with TestClient(create_app(settings)) as client:
        if callable(before):
            before()
        started = time.monotonic()
        response = client.get("/ready")
        return response.status_code, response.json(), time.monotonic() - started


def closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


def test_the_embedded_default_is_ready_with_its_database_and_data_directory(tmp_path: Path) -> None:
    status, body, _ = ready(make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}"))
    assert status == 200
    assert body == {"status": "ready", "components": {"database": "up", "storage": "up"}}


def test_at_scale_every_component_is_checked(tmp_path: Path, postgres_url: str, azurite: Azurite) -> None:
    settings = make_settings(
        tmp_path, postgres_url, redis_url=REDIS_URL, queue_name=f"tailor-test:{uuid.uuid4().hex[:8]}",
        storage_connection_string=azurite.connection_string, storage_container=f"own-{uuid.uuid4().hex[:12]}",
    )
    status, body, _ = ready(settings)
    assert status == 200
    assert body == {"status": "ready", "components": {"database": "up", "redis": "up", "storage": "up"}}


def test_redis_on_a_closed_port_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", redis_url=f"redis://127.0.0.1:{closed_port()}/0"
    )
    with caplog.at_level(logging.WARNING, logger="tailor.api.readiness"):
        status, body, seconds = ready(settings)
    assert status == 503 and seconds < 3
    assert body == {
        "status": "notReady", "unreachable": ["redis"],
        "components": {"database": "up", "redis": "down", "storage": "up"},
    }
    assert "redis is unreachable" in caplog.text  # the reason goes to the log, not to whoever asks


def test_azure_storage_on_a_closed_port_is_named(tmp_path: Path, azurite: Azurite) -> None:
    dead = azurite.connection_string.replace(azurite.host_port, f"127.0.0.1:{closed_port()}")
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", storage_connection_string=dead, storage_container="tailor"
    )
    status, body, seconds = ready(settings)
    assert status == 503 and seconds < 3
    assert body["unreachable"] == ["storage"] and body["components"]["database"] == "up"


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database of this test's own, to drop under a running API: (its URL, its name)."""
    name = f"tailor_gone_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_gone_under_the_api_is_named(tmp_path: Path, own_postgres: tuple[str, str]) -> None:
    url, name = own_postgres

    def drop() -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    status, body, seconds = ready(make_settings(tmp_path, url), before=drop)
    assert status == 503 and seconds < 3
    assert body["unreachable"] == ["database"] and body["components"]["storage"] == "up"


def test_local_storage_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}")
    status, body, _ = ready(settings, before=lambda: (settings.data_dir / "storage").write_text("not a folder"))
    assert status == 503 and body["unreachable"] == ["storage"]


def test_ready_health_and_the_gateways(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}"))) as client:
        # No key, on the paths of neither API: both gateways let them through.
        assert client.get("/health").json() == {"status": "ok"}
        answered = client.get("/ready")
        assert answered.status_code == 200 and answered.headers["cache-control"] == "no-store"
        assert client.get("/computervision/datasets").status_code == 401  # the APIs still take keys
        assert client.get("/customvision/v3.3/training/projects").status_code == 401
