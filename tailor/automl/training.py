"""Budget-limited AutoML for image classification: a dataset and a budget in, a model artifact and metrics out.

The search (Optuna's TPE sampler and successive-halving pruner) picks, per trial, a backbone, an input size and the
regularisation of a logistic-regression head on its frozen features; features are computed once per backbone and size and reused. The
ledger charges every trial's device time; the study stops when the budget is spent, when trials stop improving, or
when a score is perfect. The best recipe is refitted on all images and exported with the backbone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
from scipy.special import expit, softmax
from sklearn.metrics import balanced_accuracy_score, log_loss

from ..coco import CocoDataset
from ..models import FailureCode
from .backbones import Backbone, available_backbones, build_backbone
from .budget import BudgetExhausted, BudgetLedger
from .export import Classifier, config_for, write_artifact
from .failures import TrainingCancelled, TrainingFailed
from .features import FeatureCache
from .heads import HeadRecipe, fit_head
from .images import Fetch, load_images
from .metrics import classification_performance
from .validation import validation_folds

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)

INPUT_SIZES = (160, 224)
PATIENCE = 8  # trials in a row without improvement before the study stops
OVERHEAD_SECONDS = 2.0  # model load and head fitting, on top of one pass of feature extraction


@dataclass(frozen=True)
class TrainingRequest:
    dataset: CocoDataset
    fetch: Fetch
    budget_seconds: float
    weights_dir: Path
    output_dir: Path  # where the artifact is written (must not exist yet)
    device: str | None = None  # None: the GPU when there is one
    device_factor: float = 1.0
    seed: int = 0
    patience: int = PATIENCE
    study_storage: str | None = None  # an Optuna storage URL (the metadata database), else in memory
    study_name: str | None = None
    on_progress: Callable[[dict[str, Any]], None] = field(default=lambda progress: None)
    should_stop: Callable[[], bool] = field(default=lambda: False)


@dataclass(frozen=True)
class TrainingResult:
    artifact_dir: Path
    performance: dict[str, Any]
    billed_seconds: float
    trials: int
    best_score: float


@dataclass
class _Labels:
    images: np.ndarray  # dataset image rows that carry a label
    targets: np.ndarray  # class index per image, or a multi-hot matrix when multilabel
    class_names: tuple[str, ...]
    multilabel: bool


def train_classifier(request: TrainingRequest) -> TrainingResult:
    labels = _labels(request.dataset)
    backbones = available_backbones(request.weights_dir)
    if not backbones:
        raise TrainingFailed(FailureCode.UNKNOWN, "no pretrained backbone weights are installed on this worker")
    images = load_images(request.dataset, request.fetch)
    images = [images[i] for i in labels.images.tolist()]
    device = torch.device(request.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cache = FeatureCache(images, request.weights_dir, device)
    _check_budget(request, cache, backbones, len(images))

    ledger = BudgetLedger(request.budget_seconds, request.device_factor)
    search = _Search(request, labels, cache, backbones, ledger)
    try:
        search.run()
    except TrainingCancelled:
        raise TrainingCancelled(ledger.billed_seconds) from None  # billed once the trial's block has closed
    if search.best is None:
        raise TrainingFailed(
            FailureCode.NOT_ENOUGH_BUDGET,
            "the budget ran out before one candidate model was trained; " + _suggestion(request, ledger.spent_seconds),
            ledger.billed_seconds,
        )
    chance = 1 / len(labels.class_names)
    if search.best.score <= chance + 1e-9:
        raise TrainingFailed(
            FailureCode.DIVERGED,
            f"the best model scored {search.best.score:.3f} on held-out images, no better than chance ({chance:.3f}); "
            "check that the labels match the images",
            ledger.billed_seconds,
        )
    return _finish(request, labels, cache, search, ledger)


def _labels(dataset: CocoDataset) -> _Labels:
    pairs = np.unique(dataset.annotation_images * len(dataset.categories) + dataset.annotation_categories)
    rows, classes = pairs // len(dataset.categories), pairs % len(dataset.categories)
    used = np.unique(classes)  # a category without images cannot be learned: it is left out of the model
    remap = np.full(len(dataset.categories), -1)
    remap[used] = np.arange(used.size)
    images = np.unique(rows)
    names = tuple(dataset.categories[c] for c in used.tolist())
    if dataset.multilabel:
        targets = np.zeros((images.size, used.size), dtype=np.int64)
        targets[np.searchsorted(images, rows), remap[classes]] = 1
        return _Labels(images, targets, names, True)
    first = np.searchsorted(rows, images)  # one category per image
    return _Labels(images, remap[classes[first]], names, False)


def _check_budget(request: TrainingRequest, cache: FeatureCache, backbones: list[Backbone], n: int) -> None:
    """Refuse before training when even one pass of the cheapest backbone over the images cannot fit."""
    cheapest = min(backbones, key=lambda b: b.gflops_at(min(INPUT_SIZES)))
    per_image = cache.seconds_per_image(cheapest, min(INPUT_SIZES))
    minimum = (n * per_image + OVERHEAD_SECONDS) * request.device_factor
    if minimum > request.budget_seconds:
        raise TrainingFailed(
            FailureCode.NOT_ENOUGH_BUDGET,
            f"{n} images need at least {minimum / 3600:.4f} h ({minimum:.0f} s) of compute on this worker, more than "
            f"the budget of {request.budget_seconds / 3600:.4f} h; " + _suggestion(request, minimum),
        )


def _suggestion(request: TrainingRequest, minimum_seconds: float) -> str:
    suggested = max(3 * minimum_seconds, minimum_seconds + 60) / 3600
    return f"try timeBudgetInHours of at least {suggested:.4f}"


@dataclass
class _Candidate:
    score: float
    backbone: Backbone
    input_size: int
    recipe: HeadRecipe
    scores: np.ndarray  # out-of-fold probabilities, aligned with the labelled images
    trial: int


class _Search:
    def __init__(self, request, labels: _Labels, cache: FeatureCache, backbones: list[Backbone], ledger):
        self.request, self.labels, self.cache, self.ledger = request, labels, cache, ledger
        self.backbones = {b.name: b for b in backbones}
        self.folds = validation_folds(labels.targets, multilabel=labels.multilabel, seed=request.seed)
        self.best: _Candidate | None = None
        # Perfect accuracy, whatever the log-loss tie-breaker takes off (see _score).
        self._perfect = 1.0 - 1.0 / (len(np.concatenate([valid for _, valid in self.folds])) + 1)
        self.trials = 0
        self.stale = 0

    def run(self) -> None:
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=self.request.seed, n_startup_trials=4),
            pruner=optuna.pruners.SuccessiveHalvingPruner(),
            storage=self.request.study_storage,
            study_name=self.request.study_name,
            load_if_exists=False,
        )
        # The cheapest reasonable recipe first, so that even a small budget ends with a model.
        cheapest = min(self.backbones.values(), key=lambda b: b.gflops_at(min(INPUT_SIZES)))
        study.enqueue_trial({"backbone": cheapest.name, "input_size": max(INPUT_SIZES), "c": 1.0})
        while not self.ledger.exhausted and self.stale < self.request.patience:
            study.optimize(self._objective, n_trials=1, catch=(FloatingPointError,))
            self._progress("searching")
            if self.best is not None and self.best.score >= self._perfect:
                break

    def _step(self) -> None:
        if self.request.should_stop():
            raise TrainingCancelled
        self.ledger.check()

    def _objective(self, trial: optuna.Trial) -> float:
        backbone = self.backbones[trial.suggest_categorical("backbone", sorted(self.backbones))]
        input_size = trial.suggest_categorical("input_size", list(INPUT_SIZES))
        recipe = HeadRecipe(c=trial.suggest_float("c", 1e-4, 1e2, log=True))
        self.trials += 1
        try:
            with self.ledger.holding_device():
                features = self.cache.features(backbone, input_size, step=self._step)
                scores = self._cross_validate(features, recipe, trial)
        except BudgetExhausted:
            raise optuna.TrialPruned("the budget ran out") from None
        score = self._score(scores)
        if self.best is None or score > self.best.score + 1e-9:
            self.best = _Candidate(score, backbone, input_size, recipe, scores, trial.number)
            self.stale = 0
        else:
            self.stale += 1
        return score

    def _cross_validate(self, features: np.ndarray, recipe: HeadRecipe, trial: optuna.Trial) -> np.ndarray:
        labels = self.labels
        classes = len(labels.class_names)
        scores = np.zeros((len(features), classes), dtype=np.float64)
        for train, valid in self.folds:
            self._step()
            head = fit_head(
                features[train], labels.targets[train], classes, recipe,
                multilabel=labels.multilabel, seed=self.request.seed,
            )
            logits = head.logits(features[valid])
            scores[valid] = expit(logits) if labels.multilabel else softmax(logits, axis=1)
        validated = np.concatenate([valid for _, valid in self.folds])
        partial = self._score(scores, validated)
        trial.report(partial, step=1)
        if trial.should_prune():
            raise optuna.TrialPruned()
        return scores

    def _score(self, scores: np.ndarray, rows: np.ndarray | None = None) -> float:
        """Balanced accuracy (mean per-class recall), so that a large class cannot hide the small ones. With a few
        validation images many recipes tie on accuracy; the held-out log-loss, a far finer measure, breaks the tie
        (it is scaled to move the score by less than one image's worth of accuracy)."""
        rows = np.concatenate([valid for _, valid in self.folds]) if rows is None else rows
        targets = self.labels.targets[rows]
        if self.labels.multilabel:
            predicted = scores[rows] >= 0.5
            return float(np.mean([(predicted[:, c] == targets[:, c].astype(bool)).mean() for c in range(targets.shape[1])]))
        accuracy = balanced_accuracy_score(targets, scores[rows].argmax(axis=1))
        loss = log_loss(targets, scores[rows], labels=np.arange(scores.shape[1]))  # softmax rows sum to 1
        return float(accuracy - min(loss, 10.0) / (10.0 * (len(rows) + 1)))

    def _progress(self, phase: str) -> None:
        self.request.on_progress(
            {
                "phase": phase,
                "trialsDone": self.trials,
                "bestValidationScore": None if self.best is None else round(self.best.score, 4),
                "budgetUsedSeconds": round(min(self.ledger.used_seconds, self.request.budget_seconds), 1),
                "budgetSeconds": self.request.budget_seconds,
            }
        )


def _finish(request: TrainingRequest, labels: _Labels, cache: FeatureCache, search: _Search, ledger) -> TrainingResult:
    best = search.best
    assert best is not None
    rows = np.concatenate([valid for _, valid in search.folds])
    thresholds = _thresholds(best.scores[rows], labels.targets[rows]) if labels.multilabel else None
    performance = classification_performance(
        best.scores[rows], labels.targets[rows], labels.class_names, multilabel=labels.multilabel, thresholds=thresholds
    )
    features = cache.features(best.backbone, best.input_size)
    # Refit on every image: a fraction of a second, charged like any trial (and a fit is never cut short: it is
    # only started while budget is left, which is why a budget-exhausted search keeps its best fold's head).
    train = np.arange(len(features)) if not ledger.exhausted else search.folds[0][0]
    with ledger.holding_device():
        head = fit_head(features[train], labels.targets[train], len(labels.class_names), best.recipe,
                        multilabel=labels.multilabel, seed=request.seed)
    network = Classifier(build_backbone(best.backbone.name, weights_dir=request.weights_dir, num_classes=0), head.exported())
    config = config_for(
        best.backbone, best.input_size, labels.class_names, labels.multilabel, thresholds,
        {"adaptation": "linearProbe", **best.recipe.__dict__, "validationScore": best.score, "trial": best.trial},
    )
    write_artifact(request.output_dir, network.eval(), config)
    search._progress("succeeded")
    return TrainingResult(request.output_dir, performance, ledger.billed_seconds, search.trials, best.score)


def _thresholds(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per tag, the threshold with the best F1 on held-out images (0.5 when a tag has no positives there)."""
    chosen = np.full(targets.shape[1], 0.5)
    for c in range(targets.shape[1]):
        positives = targets[:, c].astype(bool)
        if not positives.any():
            continue
        best_f1 = -1.0
        for t in np.unique(scores[:, c]):
            predicted = scores[:, c] >= t
            tp = (predicted & positives).sum()
            f1 = 2 * tp / (predicted.sum() + positives.sum())
            if f1 > best_f1:
                best_f1, chosen[c] = f1, t
    return chosen
