"""Budget-limited AutoML. Knows nothing of HTTP or queues: a dataset (`tailor.coco.CocoDataset`) and a budget in,
a model artifact and metrics out, so that it runs the same from a test, a worker or a benchmark.

    result = train_classifier(TrainingRequest(dataset, fetch, budget_seconds, weights_dir, output_dir))
    result = train_detector(TrainingRequest(...))      # Generic-Detector: the same request, boxes in the dataset

Failures are TrainingFailed (with an API.md failure code) or TrainingCancelled; both carry what was billed.

May import: tailor.coco, tailor.enums, tailor.errors, tailor.files, tailor.reports (never the services, the store or the
blob layer: tests/test_import_graph.py).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .budget import BudgetLedger
from .failures import EvaluationFailed, TrainingCancelled, TrainingFailed

if TYPE_CHECKING:
    from .detection.training import train_detector
    from .evaluation import evaluate_classifier, evaluate_detector
    from .training import TrainingRequest, TrainingResult, train_classifier

# torch, timm and optuna load on first use of the training names, not on `import tailor.automl`: the API imports
# the failure types and must start fast.
_LAZY = {
    "TrainingRequest": ".training",
    "TrainingResult": ".training",
    "train_classifier": ".training",
    "evaluate_classifier": ".evaluation",
    "evaluate_detector": ".evaluation",
    "train_detector": ".detection.training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BudgetLedger",
    "EvaluationFailed",
    "TrainingCancelled",
    "TrainingFailed",
    "TrainingRequest",
    "TrainingResult",
    "evaluate_classifier",
    "evaluate_detector",
    "train_classifier",
    "train_detector",
]
