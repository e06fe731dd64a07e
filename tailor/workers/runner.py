"""The embedded default's job queue: trainings and evaluations run `trainings_per_device` at a time (one by
default), each in a child process, so that the API stays responsive and a crash of the trainer (even SIGKILL) cannot take the service down. A child that dies is retried;
on start-up, trainings left unfinished by a previous run are taken up again."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass

from ..enums import ModelStatus
from ..logs import setup_logging
from ..settings import Settings
from .context import JobContext
from .evaluation_job import run_evaluation
from .jobs import run_training
from .retries import MAX_TRIES, give_up

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(frozen=True)
class _Job:
    model_name: str
    evaluation_name: str | None = None  # None: the model's training

    def __str__(self) -> str:
        return self.model_name if self.evaluation_name is None else f"{self.model_name}/{self.evaluation_name}"


def _child(settings: Settings, job: _Job, lane: int) -> None:
    # A spawned process starts with Python's defaults: its lines would be dropped below WARNING, and in another
    # format than the service's, on the same stderr.
    setup_logging(settings.log_format, settings.log_level)
    log.info("job %s: started in process %d", job, os.getpid())
    context = JobContext(settings, lane=lane)  # the lane's share of TAILOR_DEVICES
    try:
        if job.evaluation_name is None:
            run_training(job.model_name, context)
        else:
            run_evaluation(job.model_name, job.evaluation_name, context)
    finally:
        context.close()


class InProcessRunner:
    def __init__(self, settings: Settings, context: JobContext):
        self._settings = settings
        self._context = context
        self._jobs: queue.Queue[object] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._loop, args=(k,), name=f"tailor-runner-{k}", daemon=True)
            for k in range(settings.trainings_per_device)
        ]
        self._spawn = multiprocessing.get_context("spawn")  # no fork: the parent holds threads and connections
        self._children: set[multiprocessing.process.BaseProcess] = set()
        self._stopping = threading.Event()

    # JobQueue ----------------------------------------------------------------------------------------------

    def enqueue_training(self, model_name: str) -> None:
        self._jobs.put(_Job(model_name))

    def enqueue_evaluation(self, model_name: str, evaluation_name: str) -> None:
        self._jobs.put(_Job(model_name, evaluation_name))

    def request_cancel(self, model_name: str) -> None:
        """Nothing to send: the training polls the store for its `cancelling` status."""

    def queued(self) -> int:
        """Jobs waiting for a free slot (/metrics)."""
        return self._jobs.qsize()

    # Life cycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        unfinished = [ModelStatus.NOT_STARTED, ModelStatus.TRAINING, ModelStatus.CANCELLING]
        for name in self._context.store.models.names_in(unfinished):
            self._jobs.put(_Job(name))
        for model_name, evaluation_name in self._context.store.evaluations.unfinished():
            self._jobs.put(_Job(model_name, evaluation_name))
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

    def _loop(self, lane: int) -> None:
        while not self._stopping.is_set():
            job = self._jobs.get()
            if job is _STOP:
                return
            try:
                self._run(job, lane)  # type: ignore[arg-type]
            except Exception:  # the runner must outlive any one job
                log.exception("the runner could not run %s", job)

    def _run(self, job: _Job, lane: int = 0) -> None:
        for attempt in range(1, MAX_TRIES + 1):
            child = self._spawn.Process(target=_child, args=(self._settings, job, lane), name=f"tailor-job-{job}")
            self._children.add(child)
            child.start()
            child.join()
            self._children.discard(child)
            if self._stopping.is_set() or child.exitcode == 0:
                return
            log.warning("job %s: the worker process died (exit %s), attempt %d", job, child.exitcode, attempt)
        give_up(self._context.store, job.model_name, job.evaluation_name, f"the worker process died {MAX_TRIES} times")
