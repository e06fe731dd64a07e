"""ruff over the whole repository (its rules in pyproject.toml): CI runs the test suite, so it runs the linter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing() -> None:
    checked = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                              "tailor", "tests", "benchmarks", "samples"], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
