"""The migrations travel in a non-editable install (the Dockerfile's `pip install .`): built into a wheel, installed
into a folder of its own, and run from there on a new database, away from this checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_a_wheel_carries_the_migrations_and_they_run_from_it(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    source = tmp_path / "source"  # built from a copy, so that the checkout gets no build/ or egg-info
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(REPO / "tailor", source / "tailor", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp_path)], check=True)
    wheel = next(tmp_path.glob("tailor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    revisions = {p.relative_to(REPO).as_posix() for p in (REPO / "tailor/store/migrations").rglob("*") if p.is_file()}
    revisions = {name for name in revisions if "__pycache__" not in name}
    assert "tailor/store/migrations/versions/0001_landed_schema.py" in revisions
    assert revisions <= names, sorted(revisions - names)

    installed = tmp_path / "installed"
    subprocess.run([*pip, "install", "--no-deps", "--no-compile", "--target", str(installed), str(wheel)], check=True)
    database = tmp_path / "tailor.db"
    run = subprocess.run(
        [sys.executable, "-c", (
            "import tailor.store as s, tailor.store._migrate as m;"
            f"s.Store.connect('sqlite:///{database}').close();"
            "print(s.__file__);"
            f"print(m.current_revisions(m.create_engine('sqlite:///{database}'))[0] == m.head())"
        )],
        cwd=tmp_path, env={"PYTHONPATH": str(installed)}, capture_output=True, text=True, check=True,
    )
    where, at_head = run.stdout.split()
    assert Path(where).is_relative_to(installed) and at_head == "True"
