"""The README's layout table and the package agree: every room the table names exists, and every package and module
of `tailor/` has its row (a new room is described where people look for it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The entry point of `python -m tailor`: nothing to find there.
UNLISTED = {"tailor/__main__.py"}


def rooms() -> list[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Layout"):]
    return re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)


def test_every_room_the_readme_names_exists() -> None:
    named = rooms()
    assert "tailor/api/" in named and "tests/" in named, named  # the table was found and read
    missing = [room for room in named if not (ROOT / room).exists()]
    assert not missing, f"README.md's layout names rooms that do not exist: {missing}"


def test_every_package_and_module_has_its_row() -> None:
    named = set(rooms())
    present = {
        f"tailor/{path.name}/" if path.is_dir() else f"tailor/{path.name}"
        for path in (ROOT / "tailor").iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or (path.suffix == ".py" and path.name != "__init__.py")
    }
    unlisted = sorted(present - named - UNLISTED)
    assert not unlisted, f"not in README.md's layout table: {unlisted}"
