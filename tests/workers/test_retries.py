"""Giving a job up, as both runners do when its tries are spent: every state it can be left in ends in a definite
one, on SQLite and PostgreSQL, and the attempt that may still run is fenced out."""

from __future__ import annotations

import logging
import re

import pytest

from tailor.enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelStatus
from tailor.models import TrainingParameters
from tailor.store import Store
from tailor.workers.retries import give_up

TRAINING = TrainingParameters("shapes", 0.01)


def incident_of(message: str) -> str:
    found = re.search(r"quote incident (\w+) to find it in the worker log", message)
    assert found, message
    return found[1]


def test_a_training_left_running_fails_unknown_unbilled_and_its_attempt_is_fenced_out(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.models.insert("m", TRAINING, None)
    store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=3, billed_seconds=20.0)
    with caplog.at_level(logging.ERROR, logger="tailor.workers.retries"):
        incident = give_up(store, "m", None, "the worker process died 3 times")
    model = store.models.get("m")
    assert model.status is ModelStatus.FAILED and model.error.code is FailureCode.UNKNOWN
    assert model.error.message.startswith("the worker process died 3 times; ")
    assert incident_of(model.error.message) == incident and incident in caplog.text
    assert model.billed_seconds == 0
    # The attempt, should it still run somewhere, can no longer write.
    assert not store.models.update("m", attempt=3, progress={"phase": "searching"}, billed_seconds=30.0)
    assert store.models.move("m", ModelStatus.TRAINING, ModelStatus.SUCCEEDED, expected_attempt=3) is None
    assert give_up(store, "m", None, "again") is None and store.models.get("m") == model  # already final


def test_a_cancelled_training_ends_cancelled_and_one_never_started_fails(store: Store) -> None:
    store.models.insert("c", TRAINING, None)
    store.models.move("c", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=1)
    store.models.move("c", ModelStatus.TRAINING, ModelStatus.CANCELLING)
    store.models.insert("n", TRAINING, None)
    assert give_up(store, "c", None, "spent") and give_up(store, "n", None, "spent")
    cancelled, never = store.models.get("c"), store.models.get("n")
    assert cancelled.status is ModelStatus.CANCELLED and cancelled.error is None
    assert never.status is ModelStatus.FAILED and never.error.code is FailureCode.UNKNOWN
    assert give_up(store, "absent", None, "spent") is None


def test_an_evaluation_left_running_or_never_started_fails_as_an_internal_error(store: Store) -> None:
    store.models.insert("m", TRAINING, None)
    store.evaluations.insert("m", "running", "test")
    store.evaluations.move("m", "running", EvaluationStatus.NOT_STARTED, EvaluationStatus.RUNNING, attempt=2)
    store.evaluations.insert("m", "waiting", "test")
    for name in ("running", "waiting"):
        incident = give_up(store, "m", name, "spent")
        evaluation = store.evaluations.get("m", name)
        assert evaluation.status is EvaluationStatus.FAILED
        assert evaluation.error.code is EvaluationFailureCode.INTERNAL_SERVER_ERROR
        assert incident_of(evaluation.error.message) == incident
    assert store.evaluations.move(
        "m", "running", EvaluationStatus.RUNNING, EvaluationStatus.SUCCEEDED, expected_attempt=2
    ) is None
    assert store.evaluations.active_of("m") == []  # the model can be deleted
    assert give_up(store, "m", "absent", "spent") is None
