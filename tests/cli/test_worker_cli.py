"""`tailor worker --devices` and TAILOR_DEVICES under `tailor serve`: a device the machine lacks is refused when the
process starts, not at its first job or its first model."""

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


def test_serve_refuses_a_device_the_machine_lacks_before_it_listens(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TAILOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TAILOR_DEVICES", "cuda:7")
    result = CliRunner().invoke(app, ["serve", "--port", "1"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "device 'cuda:7'" in result.output and "Tailor is serving" not in result.output
