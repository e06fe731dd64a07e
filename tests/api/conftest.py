"""A Tailor app on real components: a database (SQLite by default), local files under a data root, and a real
HTTP server thread when a test needs a live URL (the official sample client speaks HTTP)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.api.keys import Keys
from tailor.settings import Settings
from tests.coco.builders import classification, detection
from tests.databases import database_url, empty_database_url, postgres_url  # noqa: F401  (fixtures)

TRAINING_KEY = "training-key-1"
OTHER_TRAINING_KEY = "training-key-2"
PREDICTION_KEY = "prediction-key"
# TAILOR_SECRET_KEY of the tests (a Fernet key, as `tailor secrets new-key` prints): PostgreSQL requires one.
SECRET_KEY = "FQeviB2O0-IKzku40guC_XAOwzzxKnn6n6QBVFyqlEw="
VERSION = "2023-04-01-preview"
HEADERS = {"Ocp-Apim-Subscription-Key": TRAINING_KEY}


class Api:
    """A TestClient with the key and api-version filled in, and a folder for annotation files."""

    def __init__(self, client: TestClient, root: Path):
        self.client = client
        self.root = root

    def call(self, method: str, path: str, *, headers: dict | None = None, params: dict | None = None, **kw: Any):
        return self.client.request(
            method,
            f"/computervision/{path.lstrip('/')}",
            params={"api-version": VERSION, **(params or {})},
            headers={**HEADERS, **(headers or {})},
            **kw,
        )

    def coco(self, name: str, doc: Any) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
        return str(path)

    def register(self, name: str, kind: str = "imageClassification", uris: list[str] | None = None, **extra: Any):
        if uris is None:
            doc = classification() if kind == "imageClassification" else detection()
            uris = [self.coco(f"{name}.json", doc)]
        body = {"annotationKind": kind, "annotationFileUris": uris, **extra}
        return self.call("PUT", f"datasets/{name}", json=body)


def make_settings(tmp_path: Path, database: str, **overrides: Any) -> Settings:
    root = tmp_path / "datasets"
    root.mkdir(exist_ok=True)
    values: dict[str, Any] = dict(
        data_dir=tmp_path / "data",
        database_url=database,
        data_roots=[str(root)],
        training_key=f"{TRAINING_KEY},{OTHER_TRAINING_KEY}",
        prediction_key=PREDICTION_KEY,
        secret_key=SECRET_KEY,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}")


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, Path(settings.data_roots[0]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings, keys: Keys | None = None):
        self.port = free_port()
        config = uvicorn.Config(create_app(settings, keys), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the live server did not start in 20 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
