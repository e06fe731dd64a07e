"""Status changes of models and evaluations are compare-and-set: on the status (and the attempt, when given), so that
a cancel and a worker, or two workers, never overwrite each other. Run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from tailor.enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelStatus
from tailor.errors import NotFound
from tailor.records import EvaluationError, TrainingError, TrainingParameters
from tailor.store import Store

TRAINING = TrainingParameters("fruit", 1.0)


def test_a_model_moves_only_from_the_status_it_is_in(store: Store) -> None:
    made = store.models.insert("m", TRAINING, None)
    assert store.models.move("m", ModelStatus.TRAINING, ModelStatus.CANCELLING) is None
    assert store.models.get("m") == made
    moved = store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.CANCELLED)
    assert moved is not None and moved.status is ModelStatus.CANCELLED and moved.updated >= made.updated
    assert store.models.get("m") == moved


def test_a_model_moves_only_while_the_attempt_is_the_expected_one(store: Store) -> None:
    store.models.insert("m", TRAINING, None)
    first = store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, expected_attempt=0, attempt=1)
    assert first is not None and first.attempt == 1
    # A second worker that read the model before the first one started it finds the fence moved.
    assert store.models.move("m", ModelStatus.TRAINING, ModelStatus.TRAINING, expected_attempt=0, attempt=1) is None
    assert store.models.get("m").attempt == 1


def test_a_model_transition_records_its_other_columns(store: Store) -> None:
    store.models.insert("m", TRAINING, None)
    store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=1)
    assert store.models.update("m", attempt=1, progress={"phase": "search"}, billed_seconds=12.5)
    error = TrainingError(FailureCode.DIVERGED, "the loss went to infinity")
    failed = store.models.move("m", ModelStatus.TRAINING, ModelStatus.FAILED, error=error, billed_seconds=20.0)
    assert failed is not None
    assert (failed.error, failed.billed_seconds, failed.progress) == (error, 20.0, {"phase": "search"})


def test_progress_and_bill_are_written_only_by_the_current_attempt_while_it_runs(store: Store) -> None:
    store.models.insert("m", TRAINING, None)
    assert not store.models.update("m", attempt=0, progress={"phase": "loading"})  # not started: nothing runs
    store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, expected_attempt=0, attempt=1)
    assert store.models.update("m", attempt=1, progress={"attempt": 1}, billed_seconds=5.0)
    # A second worker takes the model over (the first lost its lease but still runs): the first's writes miss.
    store.models.move("m", ModelStatus.TRAINING, ModelStatus.TRAINING, expected_attempt=1, attempt=2,
                      billed_seconds=0.0, progress={"attempt": 2})
    assert not store.models.update("m", attempt=1, progress={"attempt": 1}, billed_seconds=30.0)
    assert store.models.move("m", ModelStatus.TRAINING, ModelStatus.SUCCEEDED, expected_attempt=1) is None
    assert store.models.update("m", attempt=2, progress={"attempt": 2, "trialsDone": 1}, billed_seconds=3.0)
    store.models.move("m", ModelStatus.TRAINING, ModelStatus.CANCELLING)
    assert store.models.update("m", attempt=2, progress={"attempt": 2, "trialsDone": 2}, billed_seconds=4.0)
    store.models.move("m", ModelStatus.CANCELLING, ModelStatus.CANCELLED, expected_attempt=2, billed_seconds=4.5)
    assert not store.models.update("m", attempt=2, progress={"attempt": 2, "trialsDone": 3}, billed_seconds=9.0)
    model = store.models.get("m")
    assert (model.status, model.attempt, model.billed_seconds) == (ModelStatus.CANCELLED, 2, 4.5)
    assert model.progress == {"attempt": 2, "trialsDone": 2}


def test_a_model_is_deleted_only_in_the_status_it_was_read_in_and_its_evaluations_with_it(store: Store) -> None:
    store.models.insert("m", TRAINING, None)
    store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.SUCCEEDED)
    store.evaluations.insert("m", "e", "test")
    with pytest.raises(NotFound):
        store.models.delete("m", expected_status=ModelStatus.FAILED)
    assert store.models.get("m").status is ModelStatus.SUCCEEDED
    store.models.delete("m", expected_status=ModelStatus.SUCCEEDED)
    with pytest.raises(NotFound):
        store.models.get("m")
    with pytest.raises(NotFound):
        store.evaluations.get("m", "e")


def test_an_evaluation_moves_only_from_its_status_and_expected_attempt(store: Store) -> None:
    made = store.evaluations.insert("m", "e", "test")
    assert store.evaluations.move("m", "e", EvaluationStatus.RUNNING, EvaluationStatus.FAILED) is None
    assert store.evaluations.get("m", "e") == made
    started = store.evaluations.move(
        "m", "e", EvaluationStatus.NOT_STARTED, EvaluationStatus.RUNNING, expected_attempt=0, attempt=1
    )
    assert started is not None and (started.status, started.attempt) == (EvaluationStatus.RUNNING, 1)
    assert store.evaluations.move(
        "m", "e", EvaluationStatus.RUNNING, EvaluationStatus.RUNNING, expected_attempt=0, attempt=1
    ) is None
    error = EvaluationError(EvaluationFailureCode.DATASET_EMPTY, "no labelled image")
    failed = store.evaluations.move("m", "e", EvaluationStatus.RUNNING, EvaluationStatus.FAILED, error=error)
    assert failed is not None and failed.error == error and failed.attempt == 1
    assert store.evaluations.unfinished() == [] and store.evaluations.active_of("m") == []


def test_an_evaluation_is_deleted_only_in_the_status_it_was_read_in(store: Store) -> None:
    store.evaluations.insert("m", "e", "test")
    with pytest.raises(NotFound):
        store.evaluations.delete("m", "e", expected_status=EvaluationStatus.SUCCEEDED)
    assert store.evaluations.unfinished() == [("m", "e")] and store.evaluations.active_of("m") == ["e"]
    store.evaluations.delete("m", "e", expected_status=EvaluationStatus.NOT_STARTED)
    with pytest.raises(NotFound):
        store.evaluations.get("m", "e")
