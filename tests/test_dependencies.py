"""Every package `tailor/` imports is declared in pyproject.toml's dependencies (not merely installed because another
package needs it), the version is written once, and requirements.lock pins, within pyproject's ranges, every package
declared, for the README's installs, CI and the Docker build, which all install with it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

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


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, separator, version = line.partition("==")
            assert separator and version.strip(), f"requirements.lock: not an exact pin: {line!r}"
            pins[normalised(name)] = version.strip()
    return pins


def test_the_lock_pins_every_declared_package_within_its_range() -> None:
    pins = locked()
    declared = [Requirement(spec) for spec in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]]
    missing = [str(r) for r in declared if normalised(r.name) not in pins]
    outside = [f"{r} (locked {pins[normalised(r.name)]})" for r in declared
               if normalised(r.name) in pins and not r.specifier.contains(pins[normalised(r.name)], prereleases=True)]
    assert not missing and not outside, f"run .ci/lock: not locked {missing}; locked outside the range {outside}"


def test_every_install_uses_the_lock() -> None:
    readme = (ROOT / "README.md").read_text()
    installs = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(installs) == 2, installs
    for text in [*installs, (ROOT / ".ci" / "run").read_text(), (ROOT / "Dockerfile").read_text()]:
        assert "pip install -c requirements.lock " in text, text
    assert "COPY pyproject.toml README.md requirements.lock" in (ROOT / "Dockerfile").read_text()
