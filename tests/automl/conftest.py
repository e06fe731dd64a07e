"""One converted weights folder for the whole session: converting is cheap (about a second) but building every
model from it in every test would not be."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.automl.backbones import BACKBONES, prepare_weights


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only for tests: one that changes files works on a copy (see `copy_of`)."""
    weights_dir = tmp_path_factory.mktemp("weights")
    prepared = prepare_weights(weights_dir)
    # Every registered backbone must be testable: a missing offline package fails here, naming what to install.
    missing = {name: b.weights.pip_install for name, b in BACKBONES.items() if name not in prepared}
    assert not missing, f"weights packages not installed: {missing}"
    return weights_dir
