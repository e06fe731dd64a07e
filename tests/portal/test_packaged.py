"""The portal travels in a non-editable install (the Dockerfile's `pip install .`): every file of its static folder
is in the wheel, so `tailor serve` from a wheel serves the same page as from this checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_a_wheel_carries_every_file_of_the_portal(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    source = tmp_path / "source"  # built from a copy, so that the checkout gets no build/ or egg-info
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(REPO / "tailor", source / "tailor", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp_path)], check=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("tailor-*.whl"))).namelist())
    static = REPO / "tailor/portal/static"
    shipped = {p.relative_to(REPO).as_posix() for p in static.rglob("*") if p.is_file()}
    assert {"tailor/portal/static/index.html", "tailor/portal/static/js/main.js"} <= shipped
    assert shipped <= names, sorted(shipped - names)
