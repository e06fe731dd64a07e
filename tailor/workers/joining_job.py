"""A worker joining another worker's training (automl/joining.py), and the host's invitation to do so.

A training whose worker has an `invite` (arq workers, with PostgreSQL: TAILOR_TRAINING_HELPERS) opens its study
and queues that many `join_training` jobs. A worker that takes one loads the same dataset, runs trials on its
devices until the study closes, and leaves their candidates in Tailor's storage, under the attempt's study folder
(deleted when the training ends). It gives way as soon as another job waits in the queue, the model is no longer
training at that attempt, or its worker stops; it never writes the model's record: the host bills and records.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..blobs import Storage
from ..coco import Purpose
from ..enums import ModelKind, ModelStatus
from ..errors import NotFound
from ..models import model_folder
from .context import JobContext

if TYPE_CHECKING:
    from ..automl.joining import Invitation

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0  # how often a joined worker looks at the model and the queue

def study_folder(model_name: str, attempt: int) -> str:
    """Where the joined workers leave their candidates for the attempt's host."""
    return f"{model_folder(model_name)}/attempt-{attempt}-study/"


class StudyFiles:
    """The automl Exchange over Tailor's storage."""

    def __init__(self, storage: Storage, folder: str):
        self._storage, self._folder = storage, folder

    def put(self, name: str, data: bytes) -> None:
        self._storage.put(self._folder + name, data)

    def get(self, name: str) -> bytes:
        return self._storage.get(self._folder + name)

    def clear(self) -> None:
        try:
            self._storage.delete_prefix(self._folder)
        except Exception:  # the objects go with the model's folder when the model is deleted
            log.warning("the study files under %s could not be deleted", self._folder, exc_info=True)


def invitation(context: JobContext, model_name: str, attempt: int) -> Invitation | None:
    """The training's invitation to other workers, when this worker can send one: an invite from the arq worker,
    helpers asked for, and a database every worker reaches (PostgreSQL)."""
    if context.invite is None or context.settings.training_helpers < 1:
        return None
    if not context.settings.resolved_database_url.startswith("postgresql"):
        log.warning("TAILOR_TRAINING_HELPERS needs PostgreSQL (SQLite is one host's file): %s trains alone", model_name)
        return None
    from ..automl.joining import Invitation  # torch: loaded by a training, not when the API imports this module

    invite = context.invite
    return Invitation(StudyFiles(context.storage, study_folder(model_name, attempt)),
                      lambda study_name: invite(model_name, attempt, study_name))


def run_join(model_name: str, attempt: int, study_name: str, context: JobContext, stop: threading.Event,
             others_waiting: Callable[[], bool] = lambda: False) -> int:
    """Join the training of `model_name` at `attempt` (its study `study_name`); returns the trials run here."""
    from ..automl.detection.joining import join_exploration
    from ..automl.joining import JoinRequest, join_training

    watch = _JoinWatch(context, model_name, attempt, stop, others_waiting)
    if watch.should_stop():
        return 0
    try:
        model = context.store.models.get(model_name)
        dataset = context.store.datasets.get(model.training.training_dataset_name)
        report = context.datasets.load(dataset.spec, Purpose.TRAINING)
    except Exception as error:  # the host meets the same problem, and says so on the model
        log.info("not joining %s: %s", model_name, error)
        return 0
    context.prepare_weights()
    with context.device_pool.lend(context.lane) as devices:
        request = JoinRequest(
            dataset=report.dataset, fetch=context.reader.image_fetcher(dataset.spec.access),
            weights_dir=context.weights_dir, study_storage=context.study_storage, study_name=study_name,
            exchange=StudyFiles(context.storage, study_folder(model_name, attempt)),
            participant=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
            device=devices[0] if devices else None, should_stop=watch.should_stop,
        )
        detector = model.training.model_kind is ModelKind.DETECTOR
        return (join_exploration if detector else join_training)(request).trials


class _JoinWatch:
    """Whether a joined worker should leave: its worker stops, the model is no longer training at this attempt, or
    another job waits for a worker (a join only uses a worker nothing else needs)."""

    def __init__(self, context: JobContext, model_name: str, attempt: int, stop: threading.Event,
                 others_waiting: Callable[[], bool]):
        self._context, self._model_name, self._attempt = context, model_name, attempt
        self._stop, self._others_waiting = stop, others_waiting
        self._last = float("-inf")
        self._leave = False

    def should_stop(self) -> bool:
        if self._stop.is_set() or self._leave:
            return True
        if time.monotonic() - self._last >= POLL_SECONDS:
            self._last = time.monotonic()
            self._leave = not self._training() or self._waiting()
        return self._leave

    def _training(self) -> bool:
        try:
            model = self._context.store.models.get(self._model_name)
        except NotFound:
            return False
        return model.attempt == self._attempt and model.status is ModelStatus.TRAINING

    def _waiting(self) -> bool:
        try:
            waiting = self._others_waiting()
        except Exception:  # the queue away for a moment: go on
            return False
        if waiting:
            log.info("leaving the training of %s: another job waits for a worker", self._model_name)
        return waiting
