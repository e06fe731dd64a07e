"""benchmarks/gpu.py as a dry run on the CPU, with tiny sizes: every section runs Tailor's code and the bare loop
and writes its figures, so that the benchmark still works when a GPU machine is there to run it in full."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_gpu_benchmark_runs_every_section_as_a_dry_run_on_the_cpu(tmp_path: Path, weights_dir: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    run = subprocess.run(
        [sys.executable, "benchmarks/gpu.py", "--dry-run", "--device", "cpu", "--out-dir", str(tmp_path),
         "--weights-dir", str(weights_dir), "--port", str(port)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_results_cpu_dry.json").read_text())
    assert results["device"] == "cpu" and results["device_name"].startswith("CPU") and results["dry_run"] is True
    assert set(results["sections"]) == {"features", "fine-tuning", "detector epoch", "analyze p50"}
    for name, figures in results["sections"].items():
        assert figures["tailor_s"] > 0 and figures["bare_s"] > 0, name
        assert figures["ratio"] == figures["bare_s"] / figures["tailor_s"] and figures["target"] in (0.9, 0.8), name
        assert f"{name}: Tailor " in run.stdout, run.stdout
