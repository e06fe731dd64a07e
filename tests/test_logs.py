"""One logging setup for every process: JSON lines (or text) with the request id, in `tailor worker` and in the
in-process runner's children as in `tailor serve` (tests/api/test_keys_and_serve.py runs that one)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from tailor.logs import JsonFormatter, TextFormatter, request_id
from tailor.settings import Settings
from tailor.workers import InProcessRunner, JobContext

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("the cause")
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("tailor.test", logging.ERROR, __file__, 1, message, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_time_level_logger_message_request_id_fields_and_the_exception() -> None:
    token = request_id.set("req-42")
    try:
        line = JsonFormatter().format(record("model %s failed", "fruit", exc=True, status=500))
    finally:
        request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "tailor.test"
    assert entry["message"] == "model fruit failed" and entry["request_id"] == "req-42" and entry["status"] == 500
    assert entry["time"].endswith("+00:00")
    assert entry["exception"].startswith("Traceback") and "ValueError: the cause" in entry["exception"]


def test_outside_a_request_there_is_no_request_id_and_odd_fields_are_written_as_text() -> None:
    entry = json.loads(JsonFormatter().format(record("plain", path=Path("/data"))))
    assert "request_id" not in entry and "exception" not in entry and entry["path"] == "/data"


def test_the_text_format_names_the_request_too() -> None:
    token = request_id.set("req-7")
    try:
        line = TextFormatter().format(record("hello"))
    finally:
        request_id.reset(token)
    assert line.endswith("ERROR tailor.test [req-7]: hello")


def test_the_log_settings_accept_any_case() -> None:
    settings = Settings(log_format="TEXT", log_level="debug")
    assert (settings.log_format, settings.log_level) == ("text", "DEBUG")


def test_the_runners_child_processes_write_json_lines(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path, training_key="k")
    context = JobContext(settings)
    runner = InProcessRunner(settings, context)
    runner.start()
    written: list[str] = []  # the child's stderr is this process's: captured at the file descriptor
    try:
        runner.enqueue_training("no-such-model")  # the child finds nothing to do, after saying it started
        deadline = time.monotonic() + 60
        while not any("no-such-model: started in process" in line for line in written):
            assert time.monotonic() < deadline, f"the runner's child wrote no start line in 60 s: {written}"
            time.sleep(0.2)
            written += capfd.readouterr().err.splitlines()
    finally:
        runner.stop()
        context.close()
    started = next(json.loads(line) for line in written if "no-such-model: started" in line)
    assert started["logger"] == "tailor.workers.runner" and started["level"] == "INFO"
    assert f"process {os.getpid()}" not in started["message"]  # written by the child, not by this process


def test_tailor_worker_writes_json_lines(tmp_path: Path) -> None:
    queue = f"tailor-test:{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(TAILOR_DATA_DIR=str(tmp_path), TAILOR_REDIS_URL=REDIS_URL, TAILOR_QUEUE_NAME=queue)
    worker = subprocess.Popen(
        [Path(sys.executable).with_name("tailor"), "worker"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not redis.Redis.from_url(REDIS_URL).exists(f"{queue}:health-check"):  # once it takes jobs
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker did not start in 60 s"
            time.sleep(0.2)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=30)
    redis.Redis.from_url(REDIS_URL).delete(f"{queue}:health-check")
    lines = [json.loads(line) for line in errors.splitlines() if line.strip()]  # every line is JSON
    assert any(line["logger"] == "arq.worker" and "Starting worker" in line["message"] for line in lines), errors
