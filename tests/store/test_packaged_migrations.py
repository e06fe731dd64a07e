"""The migrations travel in a non-editable install (the Dockerfile's `pip install .`): built into a wheel, installed
into a folder of its own, and run from there on a new database, away from this checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.wheels import REPO, build_wheel


@pytest.mark.slow
def test_a_wheel_carries_the_migrations_and_they_run_from_it(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    revisions = {p.relative_to(REPO).as_posix() for p in (REPO / "tailor/store/migrations").rglob("*") if p.is_file()}
    revisions = {name for name in revisions if "__pycache__" not in name}
    assert "tailor/store/migrations/versions/0001_landed_schema.py" in revisions
    assert revisions <= names, sorted(revisions - names)

    installed = tmp_path / "installed"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
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
