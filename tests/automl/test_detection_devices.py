"""A detector's training on several devices: CPU slots stand for GPUs here. Its exploring trials run side by side,
one trial process each, the bill (device-seconds) stays within the budget, a cancel reaches every device, and a
budget too small to share explores on one device."""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna
import pytest

from tailor.automl import TrainingCancelled, TrainingRequest
from tailor.automl.detection import Detector, train_detector, training
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, Purpose, validate_coco
from tests.images import boxes_dataset

READER = BlobReader(BlobPolicy.local_user())
DEVICES = ("cpu:0", "cpu:1")


def request_for(root: Path, weights_dir: Path, budget: float, **options) -> TrainingRequest:
    coco, _ = boxes_dataset(root / "data", classes=2, per_class=2, size=(96, 72))  # 4 images, validated on all
    report = validate_coco([READER.annotation_file(str(coco), max_bytes=10**7)], AnnotationKind.DETECTION,
                           Purpose.TRAINING)
    assert report.valid, report.errors
    return TrainingRequest(report.dataset, READER.image_fetcher(Access()), budget, weights_dir, root / "model",
                           devices=DEVICES, **options)


@pytest.fixture(autouse=True)
def searching(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search on 4 images within a budget of seconds: it otherwise takes 20 held-out images and a budget for 600
    steps (what the coordinator decides by; the trial processes read neither)."""
    monkeypatch.setattr(training, "TARGET_STEPS", 10)
    monkeypatch.setattr(training, "MIN_VALIDATION_IMAGES", 2)


def trials_of(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage).trials


@pytest.fixture
def sharing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two devices share the exploration of a budget of seconds whatever this machine's speed."""
    monkeypatch.setattr(training, "PARALLEL_EPOCHS", 1)


def test_a_detectors_exploring_trials_run_side_by_side_within_the_budget(
    tmp_path: Path, weights_dir: Path, sharing: None
) -> None:
    storage, budget = f"sqlite:///{tmp_path / 'study.db'}", 30.0
    result = train_detector(request_for(tmp_path, weights_dir, budget, study_storage=storage, study_name="explore"))
    assert json.loads((result.artifact_dir / "config.json").read_text())["search"]["devices"] == 2
    assert 0.5 * budget < result.billed_seconds <= budget
    trials = trials_of(storage, "explore")
    assert trials[0].params["lr"] == pytest.approx(3e-4)  # the default recipe first
    assert all(t.datetime_complete for t in trials) and result.trials >= 2
    assert any(a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete
               for a in trials for b in trials if a.number < b.number and a.value is not None and b.value is not None)
    assert Detector.load(result.artifact_dir).class_names == ("disc", "square")


def test_a_cancel_reaches_the_exploring_trials_on_every_device(
    tmp_path: Path, weights_dir: Path, sharing: None
) -> None:
    storage, budget = f"sqlite:///{tmp_path / 'study.db'}", 60.0
    asked: list[float] = []

    def cancel_once_two_trials_are_training() -> bool:
        if not asked and "explore" in optuna.get_all_study_names(storage):
            running = [t for t in trials_of(storage, "explore") if t.state is optuna.trial.TrialState.RUNNING]
            if len(running) == 2 and any(t.intermediate_values for t in running):  # one of them an epoch in
                asked.append(time.monotonic())
        return bool(asked)

    with pytest.raises(TrainingCancelled) as info:
        train_detector(request_for(tmp_path, weights_dir, budget, study_storage=storage, study_name="explore",
                                   should_stop=cancel_once_two_trials_are_training))
    assert asked and time.monotonic() - asked[0] < 10  # every trial process stopped at its next step
    assert 0 < info.value.billed_seconds < budget
    assert not (tmp_path / "model").exists()
    states = [t.state for t in trials_of(storage, "explore")]
    assert optuna.trial.TrialState.FAIL in states and optuna.trial.TrialState.RUNNING not in states, states


def test_a_budget_too_small_to_share_explores_on_one_device(
    tmp_path: Path, weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It searches from 1.4 epochs of the first recipe, and shares from 20 (PARALLEL_EPOCHS on each device, in the
    # exploration's 30%): 6 s do the first for an epoch of 0.3 to 2 s (and pay its 2 epochs, plus 2 s).
    monkeypatch.setattr(training, "TARGET_STEPS", 1)
    storage, budget = f"sqlite:///{tmp_path / 'study.db'}", 6.0
    result = train_detector(request_for(tmp_path, weights_dir, budget, study_storage=storage, study_name="explore"))
    assert json.loads((result.artifact_dir / "config.json").read_text())["search"]["devices"] == 1
    assert len(trials_of(storage, "explore")) >= 1 and result.billed_seconds <= budget  # it searched, on one
