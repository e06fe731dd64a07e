"""The training job with TAILOR_DEVICES naming two CPU slots: its trials run side by side, the study kept in the
metadata database as on one device, and the bill within the budget. On PostgreSQL, as at scale (tests/automl/
test_devices.py trains on SQLite's study storage, the embedded default's)."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from tailor.blobs import Access
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.models import ModelKind, ModelStatus, TrainingParameters
from tailor.settings import Settings
from tailor.workers import JobContext, run_training
from tests.api.conftest import SECRET_KEY
from tests.databases import empty_database_url
from tests.images import shapes_dataset


@pytest.mark.slow
def test_a_training_on_two_cpu_slots_runs_its_trials_side_by_side(tmp_path: Path, postgres_url: str) -> None:
    database_url = empty_database_url("postgresql", tmp_path, postgres_url)
    root = tmp_path / "datasets"
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, data_roots=[str(root)],
                        training_key="k", secret_key=SECRET_KEY, devices="cpu:0,cpu:1")
    settings.data_dir.mkdir(parents=True)
    context = JobContext(settings)
    path = shapes_dataset(root / "shapes", classes=2, per_class=4)
    context.store.datasets.insert("shapes", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(path),), {}, Access()))
    context.store.models.insert("m", TrainingParameters("shapes", 0.01, ModelKind.CLASSIFIER), None)
    try:
        assert run_training("m", context) is ModelStatus.SUCCEEDED
        model = context.store.models.get("m")
        assert 0 < model.billed_seconds <= 36
        assert json.loads(context.artifacts.read(model.artifact, "config.json"))["search"]["devices"] == 2
        storage = settings.resolved_database_url
        [name] = [n for n in optuna.get_all_study_names(storage=storage) if n.startswith("m/attempt-1/")]
        trials = [t for t in optuna.load_study(study_name=name, storage=storage).trials if t.datetime_complete]
        assert any(a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete
                   for a in trials for b in trials if a.number < b.number)
    finally:
        context.close()
