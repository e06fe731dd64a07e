"""The suite's two lanes (tests/lanes.py): what makes a test slow, and CI running both as the README says."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests.lanes import _is_slow

ROOT = Path(__file__).resolve().parents[1]


def _trains(weights_dir: Path, root: Path) -> None:
    from tests.trained import train_shapes

    train_shapes(root, weights_dir)


def _checks() -> None:
    assert sum([1, 2]) == 3


def test_a_test_is_slow_when_it_trains_or_drives_a_browser() -> None:
    def item(function, *fixtures: str) -> SimpleNamespace:
        return SimpleNamespace(function=function, fixturenames=["tmp_path", *fixtures])

    assert _is_slow(item(_checks, "shapes_model"))  # a model trained for the session
    assert _is_slow(item(_checks, "browser_page"))
    assert _is_slow(item(_trains, "weights_dir"))  # trains in its own body
    assert not _is_slow(item(_checks, "weights_dir", "azurite"))


def test_ci_runs_both_lanes_exactly_as_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text()
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert command.endswith('python -m pytest -m "not slow" && python -m pytest -m slow'), command
    assert f"\n{command}\n" in readme, "the README's test command is not .ci/run's"
