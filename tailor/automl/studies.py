"""Optuna's study storage: its tables made before any study is created in it."""

from __future__ import annotations

import optuna


def prepare_study_storage(url: str) -> None:
    """Create Optuna's tables and version records in the database at `url` unless they are there. Optuna does this
    on first use, without a lock: run it once, exclusively, before trainings on several hosts create studies."""
    storage = optuna.storages.RDBStorage(url)
    storage.engine.dispose()
