"""A pytest plugin: the two lanes of the suite. A test is `slow` when it trains a model, in its body or through a
fixture, or drives a browser; the fast lane (`pytest -m "not slow"`) leaves those out and runs in a few minutes,
the full suite runs them all.

Most slow tests are found, not marked: a test that asks (directly or through other fixtures) for a fixture below,
or whose body calls a training entry point. A test slow for another reason says so with `@pytest.mark.slow`.
"""

from __future__ import annotations

import inspect
import re

import pytest

# Fixtures that train a model or start a browser before the test can begin.
SLOW_FIXTURES = frozenset({
    "shapes_model", "multilabel_model", "boxes_model",  # tests/trained.py: models trained once a session
    "trained", "published", "tailor_with_models", "cluster",  # modules' own fixtures that train through the API
    "browser_page", "chromium",  # tests/browser.py
})
# Calls in a test's body that train: the AutoML entry points, the test helpers around them, the Custom Vision SDK's.
TRAINING_CALLS = re.compile(r"\b(train_classifier|train_detector|train_shapes|train_boxes|train_project)\(")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: trains a model or drives a browser; left out of the fast lane")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") is None and _is_slow(item):
            item.add_marker(pytest.mark.slow)


def _is_slow(item: pytest.Item) -> bool:
    if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    function = getattr(item, "function", None)
    try:
        return function is not None and TRAINING_CALLS.search(inspect.getsource(function)) is not None
    except (OSError, TypeError):
        return False
