"""Every package `tailor/` imports is declared in pyproject.toml's dependencies (not merely installed because another
package needs it), and the version is written once."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import tailor

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def imported_top_level(package: Path) -> set[str]:
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "tailor"}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared() -> None:
    declared = {normalised(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]) for spec in PROJECT["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    undeclared = {
        module: providers.get(module, ["(not installed)"])
        for module in imported_top_level(ROOT / "tailor")
        if not any(normalised(dist) in declared for dist in providers.get(module, []))
    }
    assert not undeclared, f"imported by tailor/ but not in pyproject.toml's dependencies: {undeclared}"


def test_the_version_is_written_once() -> None:
    assert "version" in PROJECT.get("dynamic", []) and "version" not in PROJECT
    assert importlib.metadata.version("tailor") == tailor.__version__
