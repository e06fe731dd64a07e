"""Budget-limited AutoML. Knows nothing of HTTP or queues: a dataset (`tailor.coco.CocoDataset`) and a budget in,
a model artifact and metrics out, so that it runs the same from a test, a worker or a benchmark.

    result = train_classifier(TrainingRequest(dataset, fetch, budget_seconds, weights_dir, output_dir))

Failures are TrainingFailed (with an API.md failure code) or TrainingCancelled; both carry what was billed.
"""

from .budget import BudgetLedger
from .failures import TrainingCancelled, TrainingFailed
from .training import TrainingRequest, TrainingResult, train_classifier

__all__ = [
    "BudgetLedger",
    "TrainingCancelled",
    "TrainingFailed",
    "TrainingRequest",
    "TrainingResult",
    "train_classifier",
]
