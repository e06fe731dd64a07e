"""How trials are scored without touching the test data: a stratified hold-out, or cross-validation when the
dataset is tiny (2 to 5 images per class must still work)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, StratifiedShuffleSplit

HOLDOUT_FRACTION = 0.2
HOLDOUT_MIN_PER_CLASS = 20  # below that a hold-out is a few images: cross-validation scores far more reliably


def validation_folds(targets: np.ndarray, *, multilabel: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train indices, validation indices) pairs; every image is validated at most once."""
    n = len(targets)
    if multilabel:
        splits = 5 if n >= 25 else max(2, min(n, 5))
        return [(a, b) for a, b in KFold(splits, shuffle=True, random_state=seed).split(np.zeros(n))]
    counts = np.bincount(targets)
    smallest = counts[counts > 0].min()
    if smallest >= HOLDOUT_MIN_PER_CLASS:
        split = StratifiedShuffleSplit(1, test_size=HOLDOUT_FRACTION, random_state=seed)
        return list(split.split(np.zeros(n), targets))
    folds = int(max(2, min(5, smallest)))
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), targets))
