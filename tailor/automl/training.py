"""Budget-limited AutoML for image classification: a dataset and a budget in, a model artifact and metrics out.

The images are loaded once; the search (search.py) tries backbones, input sizes and adaptations within the budget
ledger; the best recipe of each backbone is a candidate for an ensemble (probabilities averaged), which keeps a
member when it scores at least as well on the validated images. The members are refitted on every image while the
budget allows and exported together with their metrics.

With several devices (`TrainingRequest.devices`) the search's trials run side by side, one trial process per
device, when the budget pays each device for PARALLEL_PASSES passes of the cheapest backbone over the images (a
smaller budget uses one device: the processes would spend it starting up and repeating the first features). The
budget is device-seconds: k devices spend it k times as fast, and billing still never exceeds it. The ensemble's
refit runs here, on the first device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
from PIL import Image

from ..coco import CocoDataset
from ..enums import FailureCode
from ..reports import DetectionPredictions, Predictions, most_confidently_wrong
from .artifact import ArtifactConfig, Classifier, MemberConfig, write_artifact
from .backbones import Backbone, available_backbones, build_backbone
from .budget import BudgetExhausted, BudgetLedger
from .detection.fit import DetectionRecipe
from .devices import default_device, torch_device_name
from .failures import TrainingCancelled, TrainingFailed
from .features import FeatureCache
from .finetune import Adaptation
from .heads import fit_head
from .images import Fetch, load_images, thumbnail
from .joining import Host, Invitation, describe, heartbeat_storage
from .metrics import classification_performance
from .parallel import TrialProcesses
from .search import Candidate, Labels, Search, TrialSetup, average, keep_side_of, labels_of, start_trials
from .validation import validation_folds

log = logging.getLogger(__name__)

PATIENCE = 8  # trials in a row without improvement before the study stops
OVERHEAD_SECONDS = 2.0  # model load and head fitting, on top of one pass of feature extraction
REFIT_SAFETY = 1.3  # a fine-tuned member is retrained on every image only when 1.3 x its estimated cost is left
PARALLEL_PASSES = 3  # a device joins the search when the budget pays it this many minimum passes (_check_budget)


@dataclass(frozen=True)
class TrainingRequest:
    dataset: CocoDataset
    fetch: Fetch
    budget_seconds: float
    weights_dir: Path
    output_dir: Path  # where the artifact is written (must not exist yet)
    device: str | None = None  # None: the GPU when there is one
    devices: tuple[str, ...] = ()  # the search's trials run on these at once (automl.devices names); (): `device`
    device_factor: float = 1.0
    seed: int = 0
    patience: int = PATIENCE
    adaptations: tuple[Adaptation, ...] = tuple(Adaptation)  # what the search may try
    detection_recipe: DetectionRecipe | None = None  # detectors: train this one recipe instead of searching
    study_storage: str | None = None  # an Optuna storage URL (the metadata database), else in memory
    study_name: str | None = None
    # Other workers may join the search (automl/joining.py): with a study storage that every worker reaches.
    invitation: Invitation | None = None
    on_progress: Callable[[dict[str, Any]], None] = field(default=lambda progress: None)
    should_stop: Callable[[], bool] = field(default=lambda: False)


@dataclass(frozen=True)
class TrainingResult:
    artifact_dir: Path
    performance: dict[str, Any]  # on the validated images (hold-out, or cross-validation)
    billed_seconds: float
    trials: int
    best_score: float
    validated: Predictions | DetectionPredictions  # the predictions behind `performance`, for the model's report
    thumbnails: dict[int, Image.Image]  # of its worst predicted images (rows of `validated`)


def train_classifier(request: TrainingRequest) -> TrainingResult:
    labels = labels_of(request.dataset)
    backbones = available_backbones(request.weights_dir)
    if not backbones:
        raise TrainingFailed(FailureCode.UNKNOWN, "no pretrained backbone weights are installed on this worker")
    images = load_images(request.dataset.image_urls, request.fetch, keep_side=keep_side_of(backbones))
    images = [images[i] for i in labels.images.tolist()]
    if request.should_stop():  # nothing is billed before the search: loading the images is not compute
        raise TrainingCancelled
    with flushing_denormals():
        return _train(request, labels, backbones, images, devices_of(request))


def devices_of(request: TrainingRequest) -> tuple[str, ...]:
    """The request's devices; the first is where a training runs what is not a trial (and everything on one)."""
    return request.devices or (request.device or default_device(),)


@contextmanager
def flushing_denormals() -> Iterator[None]:
    """Denormal floats (pretrained batch-norm statistics make some) are slow on CPUs; flushing them to zero costs
    nothing in accuracy and gains about a tenth of the training speed. It is processor state of the calling thread,
    so it is put back (to the default, off) for whatever the thread does next."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _train(
    request: TrainingRequest, labels: Labels, backbones: list[Backbone], images, devices: tuple[str, ...]
) -> TrainingResult:
    device = torch.device(torch_device_name(devices[0]))
    cache = FeatureCache(images, request.weights_dir, device)
    minimum = _check_budget(request, cache, backbones, len(images))
    if request.should_stop():
        raise TrainingCancelled

    devices = devices[: max(1, min(len(devices), int(request.budget_seconds // (PARALLEL_PASSES * minimum))))]
    ledger = BudgetLedger(request.budget_seconds, request.device_factor, devices=len(devices), shared=len(devices) > 1)
    folds = validation_folds(labels.targets, multilabel=labels.multilabel, seed=request.seed)
    search = Search(
        labels=labels, images=images, cache=cache, backbones=backbones, ledger=ledger, folds=folds,
        weights_dir=request.weights_dir, device=device, seed=request.seed, patience=request.patience,
        adaptations=request.adaptations,
        should_stop=request.should_stop, on_progress=request.on_progress,
    )
    processes = None
    storage: str | optuna.storages.BaseStorage | None
    host, storage = _host(request, labels, backbones, folds, ledger, minimum), request.study_storage
    if host is not None:
        assert request.study_storage is not None  # a host is only made with a study storage (_host)
        storage = heartbeat_storage(request.study_storage)
    try:
        if len(devices) > 1:
            log.info("the search runs on %s", ", ".join(devices))
            setup = TrialSetup(labels, images, backbones, folds, request.weights_dir, request.seed,
                               request.adaptations, ledger)
            threads = max(1, torch.get_num_threads() // len(devices))  # a CPU's cores, or a GPU's feeders, shared
            processes = TrialProcesses(devices, start_trials, setup, threads=threads)
        search.run(storage=storage, study_name=request.study_name, processes=processes, host=host)
    except TrainingCancelled:
        raise TrainingCancelled(ledger.billed_seconds) from None  # billed once the trial's block has closed
    finally:
        if processes is not None:
            processes.close()
        if isinstance(storage, optuna.storages.RDBStorage):
            storage.engine.dispose()
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
    try:
        return _finish(request, labels, images, cache, search, ledger)
    except TrainingCancelled:
        raise TrainingCancelled(ledger.billed_seconds) from None


def _host(request: TrainingRequest, labels: Labels, backbones: list[Backbone], folds, ledger: BudgetLedger,
          minimum: float) -> Host | None:
    """The study opened to other workers, when the request invites them and the budget pays each of them for
    PARALLEL_PASSES passes of the cheapest backbone over the images (they compute their own features)."""
    if request.invitation is None or request.study_storage is None:
        return None
    if request.budget_seconds < PARALLEL_PASSES * minimum * (ledger.devices + 1):
        log.info("the budget is too small to share: the training runs on this worker alone")
        return None
    setup = describe(labels, folds, [b.name for b in backbones], request.seed, request.adaptations, ledger)
    return Host(setup, ledger, request.invitation.exchange, request.invitation.invite)


def _check_budget(request: TrainingRequest, cache: FeatureCache, backbones: list[Backbone], n: int) -> float:
    """Refuse before training when even one pass of the cheapest backbone over the images cannot fit; else that
    minimum, in billed seconds."""
    cheapest = min(backbones, key=lambda b: b.gflops)
    per_image = cache.seconds_per_image(cheapest, cheapest.input_size)
    minimum = (n * per_image + OVERHEAD_SECONDS) * request.device_factor
    if minimum > request.budget_seconds:
        raise TrainingFailed(
            FailureCode.NOT_ENOUGH_BUDGET,
            f"{n} images need at least {minimum / 3600:.4f} h ({minimum:.0f} s) of compute on this worker, more than "
            f"the budget of {request.budget_seconds / 3600:.4f} h; " + _suggestion(request, minimum),
        )
    return minimum


def _suggestion(request: TrainingRequest, minimum_seconds: float) -> str:
    suggested = max(3 * minimum_seconds, minimum_seconds + 60) / 3600
    return f"try timeBudgetInHours of at least {suggested:.4f} (Custom Vision: reservedBudgetInHours)"


def _finish(
    request: TrainingRequest, labels: Labels, images: list[Image.Image], cache: FeatureCache, search: Search, ledger
) -> TrainingResult:
    members, weights = search.ensemble()
    rows = search.validated
    scores = average([m.scores for m in members], weights)
    thresholds = _thresholds(scores[rows], labels.targets[rows]) if labels.multilabel else None
    performance = classification_performance(
        scores[rows], labels.targets[rows], labels.class_names, multilabel=labels.multilabel, thresholds=thresholds
    )
    networks = [_refit(request, labels, cache, search, ledger, member) for member in members]
    ensemble_score = search.score_of(scores)
    config = ArtifactConfig(
        labels.class_names, labels.multilabel, None if thresholds is None else tuple(thresholds),
        tuple(MemberConfig.of(m.backbone, m.input_size, m.recipe(), float(w)) for m, w in zip(members, weights)),
        {"validationScore": ensemble_score, "trials": search.trials, "billedSeconds": ledger.billed_seconds,
         "devices": ledger.devices},
        keep_side_of(list(search.backbones.values())),
    )
    write_artifact(request.output_dir, networks, config)
    search.progress("succeeded")
    validated = Predictions(
        class_names=labels.class_names, multilabel=labels.multilabel, scores=scores[rows], targets=labels.targets[rows],
        image_names=tuple(request.dataset.image_urls[i] for i in labels.images[rows].tolist()),
        thresholds=config.thresholds,
    )
    thumbnails = {row: thumbnail(images[rows[row]]) for row in most_confidently_wrong(validated)}
    return TrainingResult(
        request.output_dir, performance, ledger.billed_seconds, search.trials, ensemble_score, validated, thumbnails
    )


def _refit(request, labels: Labels, cache: FeatureCache, search: Search, ledger: BudgetLedger, member: Candidate):
    """The member trained on every image. A probe's head refits on the features already computed, in about the time
    one fold's fit took, so it refits even when the search spent the budget (charged, and like a trial's last step,
    not billed past the budget): a head fitted on one fold alone would leave out a fifth of the images, or half of
    them at 2 a class (on Fashion-MNIST at 10 a class, a run that spent its budget scored a point lower for it). A
    fine-tuned network is retrained when the budget left covers it, else its last fold's network is kept."""
    features = cache.features(member.backbone, member.input_size)
    everything = np.arange(len(features))
    if member.fine_tune is not None:
        assert member.network is not None
        estimate = member.seconds / len(search.folds) * len(everything) / len(search.folds[0][0])
        if ledger.remaining_seconds > REFIT_SAFETY * estimate:
            try:
                with ledger.holding_device():
                    refitted = search.fine_tune_once(
                        member.backbone, search.crops(member.backbone, member.input_size), features, member.head,
                        member.fine_tune, everything, everything[:0],
                    )
                if refitted.complete:
                    return refitted.network
            except BudgetExhausted:
                pass  # the estimate was short: the fold's network is a sound model still
        return member.network
    with ledger.holding_device():
        head = fit_head(features, labels.targets, len(labels.class_names), member.head,
                        multilabel=labels.multilabel, seed=request.seed)
    backbone = build_backbone(member.backbone.name, weights_dir=request.weights_dir, num_classes=0)
    return Classifier(backbone, head.exported()).eval()


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
