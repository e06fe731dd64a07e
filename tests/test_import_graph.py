"""The import graph of `tailor/`, built from the source: no cycle, counting imports under TYPE_CHECKING and imports
inside functions (a cycle hidden that way is still two modules that cannot be understood one without the other);
and the rooms that must stay apart do (automl/ and reports/ know nothing of the domain services, the store or the
blob layer)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_of(package: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its __init__)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, wherever the import statement stands."""
    modules = modules_of(package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base[: len(base) - node.level + (1 if is_package else 0)]
                    origin = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    origin = node.module or ""
                # `from pkg import sub` imports the submodule; `from mod import name` the module itself.
                targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                           for alias in node.names]
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_a_cycle_hidden_in_type_checking_and_a_function_is_found(tmp_path: Path) -> None:
    package = tmp_path / "house"
    (package / "rooms").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "rooms" / "__init__.py").write_text("from .kitchen import Kitchen\n")
    (package / "rooms" / "kitchen.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..hall import Hall\nclass Kitchen: ...\n"
    )
    (package / "hall.py").write_text("def door():\n    from .rooms import kitchen\n    return kitchen\n")
    (package / "garden.py").write_text("import house.hall\n")
    graph = import_graph(package)
    assert graph["house.garden"] == {"house.hall"} and graph["house.rooms"] == {"house.rooms.kitchen"}
    assert cycles(graph) == [["house.hall", "house.rooms.kitchen"]]


def test_tailor_has_no_import_cycle() -> None:
    graph = import_graph(ROOT / "tailor")
    assert len(graph) > 100 and graph["tailor.api.app"], "the graph was not built"
    found = cycles(graph)
    assert not found, "import cycles in tailor/: " + "; ".join(" <-> ".join(cycle) for cycle in found)


def test_automl_and_reports_know_nothing_of_the_services_the_store_or_the_blobs() -> None:
    graph = import_graph(ROOT / "tailor")
    outside = ("tailor.blobs", "tailor.store", "tailor.datasets", "tailor.models", "tailor.evaluations",
               "tailor.records", "tailor.api", "tailor.workers", "tailor.customvision", "tailor.predictions")
    crossing = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items() if module.startswith(("tailor.automl", "tailor.reports"))
        for target in targets if target.startswith(outside)
    )
    assert not crossing, crossing


def allowed_imports(package_init: Path) -> tuple[str, ...] | None:
    """The rooms a package's docstring says it may import (its "May import:" paragraph), or None without one."""
    docstring = ast.get_docstring(ast.parse(package_init.read_text())) or ""
    paragraph = next((p for p in docstring.split("\n\n") if p.startswith("May import:")), None)
    if paragraph is None:
        return None
    return tuple(re.findall(r"\btailor(?:\.\w+)+", paragraph))


def test_each_package_says_what_it_may_import_and_keeps_to_it() -> None:
    graph = import_graph(ROOT / "tailor")
    packages = sorted(path.parent for path in (ROOT / "tailor").glob("*/__init__.py"))
    assert len(packages) >= 10
    silent = [package.name for package in packages if allowed_imports(package / "__init__.py") is None]
    assert not silent, f"packages whose __init__ docstring has no 'May import:' paragraph: {silent}"
    breaches = []
    for package in packages:
        room = f"tailor.{package.name}"
        allowed = allowed_imports(package / "__init__.py") or ()
        for module, targets in graph.items():
            if module != room and not module.startswith(room + "."):
                continue
            for target in targets:
                inside = target == room or target.startswith(room + ".")
                permitted = target == "tailor" or any(target == a or target.startswith(a + ".") for a in allowed)
                if not inside and not permitted:
                    breaches.append(f"{module} -> {target}")
    assert not breaches, "imports a package's docstring does not allow: " + ", ".join(sorted(breaches))
