"""The embedded default's job queue: trainings run `trainings_per_device` at a time (one by default), each in a
child process, so that the API stays
responsive and a crash of the trainer (even SIGKILL) cannot take the service down. A child that dies is retried;
on start-up, trainings left unfinished by a previous run are taken up again."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading

from ..models import FailureCode, ModelStatus, TrainingError
from ..settings import Settings
from .context import JobContext
from .jobs import run_training

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_STOP = object()


def _child(settings: Settings, model_name: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    context = JobContext(settings)
    try:
        run_training(model_name, context)
    finally:
        context.close()


class InProcessRunner:
    def __init__(self, settings: Settings, context: JobContext):
        self._settings = settings
        self._context = context
        self._jobs: queue.Queue[object] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"tailor-runner-{k}", daemon=True)
            for k in range(settings.trainings_per_device)
        ]
        self._spawn = multiprocessing.get_context("spawn")  # no fork: the parent holds threads and connections
        self._children: set[multiprocessing.process.BaseProcess] = set()
        self._stopping = threading.Event()

    # JobQueue ----------------------------------------------------------------------------------------------

    def enqueue_training(self, model_name: str) -> None:
        self._jobs.put(model_name)

    def request_cancel(self, model_name: str) -> None:
        """Nothing to send: the training polls the store for its `cancelling` status."""

    # Life cycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        unfinished = [ModelStatus.NOT_STARTED, ModelStatus.TRAINING, ModelStatus.CANCELLING]
        for name in self._context.store.model_names_in(unfinished):
            self._jobs.put(name)
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; a training in progress is ended and taken up again at the next start."""
        self._stopping.set()
        for _ in self._threads:
            self._jobs.put(_STOP)
        for child in list(self._children):
            if child.is_alive():
                child.terminate()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            name = self._jobs.get()
            if name is _STOP:
                return
            try:
                self._run(str(name))
            except Exception:  # the runner must outlive any one job
                log.exception("the runner could not run %s", name)

    def _run(self, name: str) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            child = self._spawn.Process(target=_child, args=(self._settings, name), name=f"tailor-train-{name}")
            self._children.add(child)
            child.start()
            child.join()
            self._children.discard(child)
            if self._stopping.is_set() or child.exitcode == 0:
                return
            log.warning("training %s: the worker process died (exit %s), attempt %d", name, child.exitcode, attempt)
        store = self._context.store
        error = TrainingError(
            FailureCode.UNKNOWN, f"the training process died {MAX_ATTEMPTS} times; see the service log"
        )
        if store.move_model(name, ModelStatus.TRAINING, ModelStatus.FAILED, error=error, billed_seconds=0.0) is None:
            store.move_model(name, ModelStatus.CANCELLING, ModelStatus.CANCELLED, billed_seconds=0.0)
