"""Keys of the embedded default, `tailor serve` as a user starts it, and the 500 envelope."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tailor.api import create_app
from tailor.api.keys import resolve_keys
from tailor.blobs import Access, AuthKind
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.secrets import SecretBox
from tailor.settings import Settings
from tailor.store import Store

from .conftest import HEADERS, VERSION, free_port, make_settings

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")  # as tests/workers/test_arq.py


def test_without_a_configured_key_one_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = resolve_keys(settings)
    assert first.generated_at == tmp_path / "data" / "training.key"
    assert len(first.training[0]) >= 40
    assert stat.S_IMODE(os.stat(first.generated_at).st_mode) == 0o600
    assert resolve_keys(settings).training == first.training  # a restart keeps the key


def test_configured_keys_are_split_for_rotation(tmp_path: Path) -> None:
    keys = resolve_keys(Settings(data_dir=tmp_path, training_key=" a , b ", prediction_key="p"))
    assert keys.training == ("a", "b") and keys.prediction == ("p",) and keys.generated_at is None
    assert keys.allows("b", prediction_call=False) and not keys.allows("p", prediction_call=False)
    assert keys.allows("p", prediction_call=True) and not keys.allows("", prediction_call=True)
    assert not (tmp_path / "training.key").exists()


def wait_until_serving(process: subprocess.Popen[str], port: int, output: IO[str]) -> None:
    """Until `tailor serve` answers /health on `port`; its `output` shown if it exits first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        assert process.poll() is None, output.read()
        assert time.monotonic() < deadline, "tailor serve did not answer in 30 s"
        time.sleep(0.2)


@pytest.mark.slow
def test_tailor_serve_starts_on_the_embedded_default_and_prints_url_and_key(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env["TAILOR_DATA_DIR"] = str(tmp_path / "data")
    script = Path(sys.executable).with_name("tailor")
    process = subprocess.Popen(
        [script, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_until_serving(process, port, process.stdout)
        key = (tmp_path / "data" / "training.key").read_text().strip()
        listed = requests.get(
            f"http://127.0.0.1:{port}/computervision/datasets",
            params={"api-version": VERSION}, headers={"Ocp-Apim-Subscription-Key": key}, timeout=5,
        )
        assert listed.status_code == 200 and listed.json() == {"value": []}
        assert (tmp_path / "data" / "tailor.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert f"http://localhost:{port}" in output
    assert f"Training key: {key}" in output
    secret = tmp_path / "data" / "secret.key"  # the key of the SAS tokens: its place is said, never the key itself
    assert f"Secret key: kept in {secret}" in output and secret.read_text().strip() not in output
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_at_scale_without_a_secret_key_nothing_starts_and_the_setting_is_named(tmp_path: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    # Refused before either is reached: nothing listens on port 1.
    env.update(TAILOR_DATA_DIR=str(tmp_path / "data"), TAILOR_DATABASE_URL="postgresql://tailor@127.0.0.1:1/tailor",
               TAILOR_REDIS_URL="redis://127.0.0.1:1/0", TAILOR_TRAINING_KEY="k")
    done = subprocess.run([Path(sys.executable).with_name("tailor"), command], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "TAILOR_SECRET_KEY is not set" in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "data" / "secret.key").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_secret_key_that_opens_no_token_stops_serve_and_worker_at_start(tmp_path: Path, command: str) -> None:
    database = f"sqlite:///{tmp_path / 'tailor.db'}"
    store = Store.connect(database, SecretBox([SecretBox.new_key()]))
    spec = DatasetSpec(AnnotationKind.CLASSIFICATION, ("/data/a.json",), {}, Access(AuthKind.SAS, "sig=x"))
    store.datasets.insert("fruit", spec)
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(TAILOR_DATA_DIR=str(tmp_path / "data"), TAILOR_DATABASE_URL=database, TAILOR_TRAINING_KEY="k",
               TAILOR_SECRET_KEY=SecretBox.new_key(), TAILOR_REDIS_URL=REDIS_URL, TAILOR_QUEUE_NAME="tailor-test:none",
               TAILOR_PORT=str(free_port()))
    done = subprocess.run([Path(sys.executable).with_name("tailor"), command], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "TAILOR_SECRET_KEY does not open the SAS tokens in this database" in done.stderr
    assert "'fruit'" in done.stderr and "Traceback" not in done.stderr


def test_an_unexpected_failure_is_a_500_with_an_id_and_no_traceback(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        with create_engine(settings.resolved_database_url).begin() as connection:  # a real failure underneath
            connection.execute(text("DROP TABLE datasets"))
        response = client.get(
            "/computervision/datasets", params={"api-version": VERSION}, headers={**HEADERS, "x-request-id": "r-500"}
        )
    assert response.status_code == 500 and response.headers["x-request-id"] == "r-500"
    error = response.json()["error"]
    assert error["code"] == "InternalServerError" and "quote id" in error["message"]
    assert "Traceback" not in response.text and "sqlite" not in response.text.lower()


@pytest.mark.slow
def test_tailor_serve_logs_json_lines_that_carry_each_requests_id(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(TAILOR_DATA_DIR=str(tmp_path / "data"), TAILOR_TRAINING_KEY="k")
    process = subprocess.Popen(
        [Path(sys.executable).with_name("tailor"), "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until_serving(process, port, process.stderr)
        url, params = f"http://127.0.0.1:{port}/computervision/datasets", {"api-version": VERSION}
        given = requests.get(url, params=params, headers={"Ocp-Apim-Subscription-Key": "k", "x-request-id": "trace-1"})
        made = requests.get(url, params=params, headers={"Ocp-Apim-Subscription-Key": "wrong"})
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)
    assert given.status_code == 200 and given.headers["x-request-id"] == "trace-1"
    assert given.headers["apim-request-id"] == "trace-1"  # as Azure's services name it
    assert made.status_code == 401 and len(made.headers["x-request-id"]) == 32  # made by the service
    lines = [json.loads(line) for line in errors.splitlines() if line.strip()]  # every line is one JSON object
    by_id = {line.get("request_id"): line for line in lines if line["logger"] == "tailor.access"}
    assert by_id["trace-1"]["status"] == 200 and by_id["trace-1"]["route"] == "/computervision/datasets"
    assert by_id[made.headers["x-request-id"]]["status"] == 401
    assert by_id["trace-1"]["message"].startswith("GET /computervision/datasets 200")
    assert {"time", "level", "logger", "message"} <= set(by_id["trace-1"])
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's own lines in the same format
