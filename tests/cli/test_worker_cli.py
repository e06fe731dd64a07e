"""`tailor worker --devices`: a device the machine lacks is refused when the worker starts, not at its first job."""

from __future__ import annotations

from typer.testing import CliRunner

from tailor.cli import app


def test_a_device_the_machine_lacks_is_refused_at_start(monkeypatch) -> None:
    monkeypatch.setenv("TAILOR_REDIS_URL", "redis://127.0.0.1:6379/0")
    result = CliRunner().invoke(app, ["worker", "--devices", "cuda:7"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "device 'cuda:7'" in result.output and "this machine has" in result.output
    result = CliRunner().invoke(app, ["worker", "--devices", "gpu0"], catch_exceptions=False)
    assert result.exit_code == 2 and "unknown device 'gpu0'" in result.output
