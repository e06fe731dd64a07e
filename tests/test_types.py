"""mypy over tailor/ (its settings in pyproject.toml's [tool.mypy]): CI runs the test suite, so it runs the type
checker, and a change that mypy rejects fails here with mypy's own words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_nothing() -> None:
    checked = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
