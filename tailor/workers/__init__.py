"""Jobs: wiring trainings and evaluations to `tailor.automl` and recording each state transition, nothing more.

    run_training(model_name, context)                       the training job, whatever runs it
    run_evaluation(model_name, evaluation_name, context)    the evaluation job
    InProcessRunner                           the embedded default: one job at a time, each in a child process
    arq_worker.worker(settings), ArqQueue     at scale: the arq worker, and the API's side of the queue
    retries.give_up(...)                      how both end a job that will not be run again

May import: tailor.automl, tailor.blobs, tailor.coco, tailor.datasets, tailor.enums, tailor.errors,
tailor.evaluations, tailor.logs, tailor.models, tailor.records, tailor.reports, tailor.secrets, tailor.settings,
tailor.store.
"""

from .context import JobContext
from .evaluation_job import run_evaluation
from .jobs import run_training
from .runner import InProcessRunner

__all__ = ["InProcessRunner", "JobContext", "run_evaluation", "run_training"]
