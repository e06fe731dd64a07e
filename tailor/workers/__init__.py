"""Jobs: wiring training requests to `tailor.automl` and recording each state transition, nothing more.

    jobs.run_training(model_name, context)   the one job function, whatever runs it
    InProcessRunner                           the embedded default: one job at a time, each in a child process
"""

from .context import JobContext
from .jobs import run_training
from .runner import InProcessRunner

__all__ = ["InProcessRunner", "JobContext", "run_training"]
