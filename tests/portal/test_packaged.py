"""The portal travels in a non-editable install (the Dockerfile's `pip install .`): every file of its static folder
is in the wheel, so `tailor serve` from a wheel serves the same page as from this checkout."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.wheels import REPO, build_wheel


def test_a_wheel_carries_every_file_of_the_portal(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    static = REPO / "tailor/portal/static"
    shipped = {p.relative_to(REPO).as_posix() for p in static.rglob("*") if p.is_file()}
    assert {"tailor/portal/static/index.html", "tailor/portal/static/js/main.js"} <= shipped
    assert shipped <= names, sorted(shipped - names)
