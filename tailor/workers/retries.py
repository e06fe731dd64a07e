"""When a job is given up: the one ending shared by the in-process runner (its child process died MAX_TRIES times)
and the arq worker (the job's tries are spent, or it ran past its time limit), so that every job ends in a definite
state whichever runs it."""

from __future__ import annotations

import logging

from ..enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelStatus
from ..errors import NotFound, new_incident
from ..records import EvaluationError, TrainingError
from ..store import Store

log = logging.getLogger(__name__)
MAX_TRIES = 3  # runs of one job, its first included, before it is given up


def give_up(store: Store, model_name: str, evaluation_name: str | None, why: str) -> str | None:
    """End the job in a definite state: a training `failed` with `unknown` (`cancelled` when a cancel was asked for),
    an evaluation `failed` with `internalServerError`, unbilled, its message quoting an incident id that the log line
    carries. `why` says what happened ("the worker process died 3 times"). Returns the incident id, or None when
    there was nothing to end (the record is gone or already final). Whatever attempt still runs is fenced out: its
    later writes miss (tailor.store)."""
    incident = new_incident()
    message = f"{why}; quote incident {incident} to find it in the worker log"
    job = model_name if evaluation_name is None else f"evaluation {evaluation_name} of {model_name}"
    for _ in range(3):  # a status read, then a compare-and-set on it: again if a cancel or the attempt moved it
        try:
            ended = (_end_training(store, model_name, message) if evaluation_name is None
                     else _end_evaluation(store, model_name, evaluation_name, message))
        except NotFound:
            return None
        if ended is None:
            return None
        if ended:
            log.error("job %s given up: %s (incident %s)", job, why, incident)
            return incident
    log.error("job %s could not be given up: its record kept changing (incident %s)", job, incident)
    return None


def _end_training(store: Store, name: str, message: str) -> bool | None:
    model = store.models.get(name)
    if model.status.is_final():
        return None
    if model.status is ModelStatus.CANCELLING:
        moved = store.models.move(name, ModelStatus.CANCELLING, ModelStatus.CANCELLED,
                                  expected_attempt=model.attempt, billed_seconds=0.0)
    else:
        moved = store.models.move(name, model.status, ModelStatus.FAILED, expected_attempt=model.attempt,
                                  error=TrainingError(FailureCode.UNKNOWN, message), billed_seconds=0.0)
    return moved is not None


def _end_evaluation(store: Store, model_name: str, name: str, message: str) -> bool | None:
    evaluation = store.evaluations.get(model_name, name)
    if evaluation.status.is_final():
        return None
    moved = store.evaluations.move(
        model_name, name, evaluation.status, EvaluationStatus.FAILED, expected_attempt=evaluation.attempt,
        error=EvaluationError(EvaluationFailureCode.INTERNAL_SERVER_ERROR, message),
    )
    return moved is not None
