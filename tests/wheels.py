"""Tailor built into a wheel, as a non-editable install (the Dockerfile's `pip install .`) gets it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def build_wheel(folder: Path) -> Path:
    """Build the wheel into `folder` and return its path."""
    pytest.importorskip("setuptools")
    source = folder / "source"  # built from a copy, so that the checkout gets no build/ or egg-info
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(REPO / "tailor", source / "tailor", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(folder)], check=True)
    return next(folder.glob("tailor-*.whl"))
