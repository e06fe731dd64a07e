"""Every exception class Tailor defines is a TailorError, and tailor/errors.py's docstring draws each one in its tree
(a new error is placed where people look for it)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import tailor
import tailor.errors
from tailor.errors import TailorError

SKIPPED = (".__main__", ".migrations.")  # the command line itself; Alembic's scripts run only under Alembic


def exception_classes() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(tailor.__path__, "tailor."):
        if any(part in module_info.name + "." for part in SKIPPED):
            continue
        module = importlib.import_module(module_info.name)
        found += [value for value in vars(module).values()
                  if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__]
    return found


def test_every_exception_is_a_tailor_error_drawn_in_the_tree() -> None:
    classes = exception_classes()
    assert len(classes) > 30 and tailor.errors.InternalFailure in classes
    outside = sorted(f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, TailorError))
    assert not outside, f"exceptions outside TailorError: {outside}"
    tree = tailor.errors.__doc__ or ""
    undrawn = sorted(f"{c.__module__}.{c.__name__}" for c in classes if c.__name__ not in tree)
    assert not undrawn, f"not drawn in tailor/errors.py's docstring: {undrawn}"
