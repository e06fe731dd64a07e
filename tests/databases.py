"""Real databases for tests: a SQLite file, and a PostgreSQL database created for the test session.

PostgreSQL is expected at TAILOR_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test, as on the
project's machines and CI); a test run creates its own database there and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from tailor.store import Store
from tailor.store._tables import Base

ADMIN_URL = os.environ.get("TAILOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"tailor_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        raise RuntimeError(f"PostgreSQL is needed at {ADMIN_URL} (set TAILOR_TEST_POSTGRES_URL): {exc}") from exc
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    yield url
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_database_url(kind: str, tmp_path: Path, postgres_url: str) -> str:
    """A database with empty tables: a new SQLite file, or the session's PostgreSQL database truncated."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'tailor.db'}"
    store = Store.connect(postgres_url)
    with store.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f'TRUNCATE TABLE "{table.name}" RESTART IDENTITY CASCADE'))
    store.close()
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    return empty_database_url(request.param, tmp_path, postgres)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A Store on `database_url` (both databases), closed after the test."""
    store = Store.connect(database_url)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even Tailor's tables or version table: a new SQLite file, or a PostgreSQL
    database of its own (created and dropped around the test), for tests that build a past schema or race to create
    one without disturbing the session's database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tailor.db'}"
        return
    name = f"tailor_blank_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
