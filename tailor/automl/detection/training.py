"""Budget-limited training of a detector: the counterpart of automl/training.py for `Generic-Detector`.

The images are loaded once and their relative COCO boxes converted once. A fifth of the images is held out to
validate on (mAP@50). The first recipe is the default one at the input size the objects and the budget call for
(choose_input_size), scheduled for TARGET_STEPS steps as far as the budget pays. The search spends at most
EXPLORE_SHARE of the budget on the first epochs of different recipes (Optuna TPE, the default recipe first,
successive halving on the per-epoch score), each scheduled as if it were to get the rest of the budget; the best of
them is then continued where it stopped (its optimiser and learning-rate schedule too: a restart at full rate undoes
much of what a detector has learned), and the best epoch seen is the model. Below MIN_VALIDATION_IMAGES held-out
images there is nothing to choose by, and with a budget that pays for little more than the first recipe's schedule
nothing to spare (`searches`): the first recipe gets the whole budget, as `detection_recipe` does when it names one;
with too few held-out images the last epoch is the model.

With several devices (`TrainingRequest.devices`) the exploring trials run side by side, one trial process per
device (automl.parallel, as the classifier's search does), when each device's part of the exploration pays for
PARALLEL_EPOCHS epochs of the first recipe (a smaller budget explores on one device, as with one). Each device has its
own timing probes and correction, and its part of the exploration (its own seconds in the ledger, EXPLORE_SHARE of
the budget divided by the devices); the study, the best run and the stopping rule stay here. The best exploring run
comes back with its optimiser and schedule (Resumable) and is continued here, on the first device.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np
import optuna
import torch

from ...enums import AnnotationKind, FailureCode
from ...reports import worst_detected
from ..backbones import Backbone, available_backbones
from ..budget import BudgetExhausted, BudgetLedger
from ..detection_metrics import detection_performance
from ..devices import torch_device_name
from ..failures import TrainingCancelled, TrainingFailed
from ..images import DETECTION_KEEP_SIDE, load_images, thumbnail
from ..joining import Host, heartbeat_storage
from ..parallel import Relay, Remote, TrialProcesses, optimize
from ..training import TrainingRequest, TrainingResult, devices_of, flushing_denormals
from .data import Targets, targets_of
from .detector import DetectorConfig, write_detector
from .fit import DEFAULT_RECIPE, MAX_SIZE_FACTOR, DetectionRecipe, Fitted, Resumable, detect, fit, predictions_of
from .network import build_detector, pyramid_indices

log = logging.getLogger(__name__)

MIN_SIZES = (256, 320, 384)
EXPLORE_SHARE = 0.3
EXPLORE_EPOCHS = 3  # at most, per exploring trial
EXPLORE_TRIALS = 3  # at least, when the budget allows: each then gets fewer epochs
MIN_EPOCHS = 2  # below this a detector learns nothing: the notEnoughBudget minimum
PARALLEL_EPOCHS = EXPLORE_EPOCHS  # a device joins the exploration when its part pays this many first-recipe epochs
HOLD_OUT = 0.2
# Fewer held-out images cannot tell recipes or epochs apart: mAP on them is mostly noise. Below it there is no
# search, and the model is the schedule's last epoch (the best-scoring one on 7 held-out images was often an early
# epoch, and worse on unseen images: 0.856 mAP@50 against 0.91-0.93 for runs that kept a late one).
MIN_VALIDATION_IMAGES = 20
# The default recipe's 24 epochs are 170 steps on 30 training images: far from trained, and a budget that pays for
# more was left unspent. AutoML's schedules aim at this many steps instead, as far as the budget pays for them.
TARGET_STEPS = 600
MIN_STEPS = 340  # what the input size must leave the schedule: see choose_input_size
SMALL_OBJECT_PIXELS = 32  # what the small objects should span after resizing: 4 strides of the finest level (P3)
SMALL_OBJECT_QUANTILE = 10  # the percentile of the boxes' shorter sides that counts as "the small objects"


def input_size_for(images, targets: Targets, rows: np.ndarray) -> int:
    """The smallest of MIN_SIZES (the shorter side images are resized to) at which the small objects of these images
    span SMALL_OBJECT_PIXELS, or the largest: below it they are too small for the pyramid's finest level to find,
    whatever the budget. (Larger inputs help too, where the budget pays for them: choose_input_size.)"""
    per_image = []  # each box's shorter side, as a fraction of its image's shorter side (what the resize fixes)
    for r in rows.tolist():
        boxes = targets.boxes[r]
        per_image.append(np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / min(images[r].size))
    sides = np.concatenate(per_image) if per_image else np.empty(0)
    if sides.size == 0:
        return DEFAULT_RECIPE.min_size
    small = float(np.percentile(sides, SMALL_OBJECT_QUANTILE))
    needed = SMALL_OBJECT_PIXELS / max(small, 1e-6)
    return next((size for size in MIN_SIZES if size >= needed), MIN_SIZES[-1])


def choose_input_size(needed: int, steps_affordable: Callable[[int], float]) -> int:
    """The largest of MIN_SIZES, and at least `needed` (what the objects need, input_size_for), at which the budget
    pays for MIN_STEPS training steps; `needed` where none does (what is too small to see cannot be learned in any
    number of steps). Up to about that many steps, more steps beat more pixels; beyond, more pixels beat more steps.
    On the detection benchmark (test-set mAP@50, one seed each): 154 images and 600 s, 320 px for 370 steps 0.983,
    384 px for 300 steps 0.964, 256 px for 775 steps 0.964; 34 images and 240 s, 256 px for 310 steps 0.91, 320 px
    for 150 steps 0.87. MIN_STEPS lies between the 300 that were too few and the 370 that were enough."""
    fitting = [size for size in MIN_SIZES if size >= needed and steps_affordable(size) >= MIN_STEPS]
    return max(fitting) if fitting else needed


def searches(validation_images: int, steps_affordable: float) -> bool:
    """Whether exploring other recipes can pay for itself: with enough held-out images to tell recipes apart, and a
    budget whose share left after exploring still pays for the first recipe's TARGET_STEPS. Below that, what the
    exploration costs is taken from the steps of the recipe it most likely keeps (on 154 images and 600 s it compared
    4-5 recipes in 30% of the budget and kept the default recipe every time, left with about 15 of 22 epochs)."""
    return validation_images >= MIN_VALIDATION_IMAGES and steps_affordable * (1 - EXPLORE_SHARE) >= TARGET_STEPS


def schedule_epochs(train_images: int, batch_size: int) -> int:
    """Epochs of TARGET_STEPS steps, or the default recipe's if that is more."""
    return max(DEFAULT_RECIPE.epochs, math.ceil(TARGET_STEPS / math.ceil(train_images / batch_size)))


def classes_of(dataset) -> tuple[tuple[str, ...], np.ndarray]:
    """The categories that have boxes, and each category's class index (-1: none)."""
    used = np.unique(dataset.annotation_categories)
    if used.size == 0:
        raise TrainingFailed(FailureCode.DATASET_CORRUPT, "the dataset has no boxes: there is nothing to learn")
    remap = np.full(len(dataset.categories), -1)
    remap[used] = np.arange(used.size)
    return tuple(dataset.categories[c] for c in used.tolist()), remap


def _carries_detector(backbone: Backbone) -> bool:
    if pyramid_indices(backbone.timm_name) is None:
        log.info("backbone %s left out of detection: it has no feature maps at strides 8, 16 and 32", backbone.name)
        return False
    return True


def train_detector(request: TrainingRequest) -> TrainingResult:
    dataset = request.dataset
    class_names, remap = classes_of(dataset)
    backbones = {b.name: b for b in available_backbones(request.weights_dir) if _carries_detector(b)}
    if not backbones:
        raise TrainingFailed(FailureCode.UNKNOWN, "no pretrained backbone weights are installed on this worker")
    images = load_images(dataset.image_urls, request.fetch, keep_side=DETECTION_KEEP_SIDE)
    if request.should_stop():
        raise TrainingCancelled
    targets = targets_of(dataset, images, remap)
    with flushing_denormals():
        return _Training(request, class_names, backbones, images, targets, devices_of(request)).run()


class _Training:
    """A detector's training; in a trial process (`start_exploring`), the exploring trials of one device."""

    def __init__(self, request: TrainingRequest, class_names: tuple[str, ...], backbones: dict[str, Backbone],
                 images, targets: Targets, devices: tuple[str, ...], *, ledger: BudgetLedger | None = None,
                 keep_last: bool | None = None):
        self.request, self.class_names, self.backbones = request, class_names, backbones
        self.images, self.targets, self.devices = images, targets, devices
        self.device = torch.device(torch_device_name(devices[0]))
        order = np.random.default_rng(request.seed).permutation(len(images))
        held = max(1, round(len(images) * HOLD_OUT)) if len(images) >= 5 else 0
        # Too few images to hold any out: validated on the training images (the report says so).
        self.valid = np.sort(order[:held]) if held else np.arange(len(images))
        self.train = np.sort(order[held:]) if held else np.arange(len(images))
        self.keep_last = len(self.valid) < MIN_VALIDATION_IMAGES if keep_last is None else keep_last
        # A trial process's view of the shared ledger reads its deadlines in its own device's seconds.
        self.own = ledger is not None
        self.ledger = ledger or BudgetLedger(request.budget_seconds, request.device_factor)
        self.trials = 0
        self._counting = threading.Lock()  # trial processes count their trials from threads of their own
        self._accepting = threading.Lock()
        self.best: tuple[float, DetectionRecipe, dict] | None = None  # score, recipe, weights of the best epoch
        self.resumable: tuple[float, DetectionRecipe, Resumable] | None = None  # the best exploring run, to continue
        self._deadline = math.inf  # the ledger reading at which the run in progress stops
        self._per_image: dict[int, float] = {}  # training seconds per image, by input size (probed)
        self._correction = 1.0  # measured epoch cost / estimated
        self._probed_with: DetectionRecipe | None = None  # in a trial process: the recipe its sizes are timed with

    # -- the budget --------------------------------------------------------------------------------------------------

    @property
    def spent(self) -> float:
        """What the deadlines are read against: the ledger's charge, or this device's in a trial process."""
        return self.ledger.own_seconds if self.own else self.ledger.used_seconds

    def step(self) -> None:
        if self.request.should_stop():
            raise TrainingCancelled
        self.ledger.check()
        if self.spent >= self._deadline:
            raise BudgetExhausted

    def seconds_per_epoch(self, recipe: DetectionRecipe) -> float:
        """From one measured training batch at the nearest probed size (scaled by pixels: detectors cost per pixel),
        corrected by what the epochs so far really cost against this estimate."""
        probed = min(self._per_image, key=lambda size: abs(size - recipe.min_size))
        per_image = self._per_image[probed] * (recipe.min_size / probed) ** 2
        return per_image * self._correction * (len(self.train) + 0.5 * len(self.valid))

    def _measure(self, recipe: DetectionRecipe, sizes) -> None:
        """Seconds per training image at each size, from one batch (not billed: nothing is learned). Measured, not
        scaled from one size: an epoch at 320 px cost 2.2 times one at 256 where the pixels say 1.6."""
        from .data import sample

        rows = self.train[: min(len(self.train), recipe.batch_size)]
        batch = [sample(self.images[r], self.targets.boxes[r], self.targets.labels[r], None) for r in rows]
        inputs = [x.to(self.device) for x, _ in batch]
        wanted = [{k: v.to(self.device) for k, v in t.items()} for _, t in batch]
        for size in sorted(set(sizes) - set(self._per_image)):
            network = self._network(replace(recipe, min_size=size)).to(self.device)
            network.train()
            for _ in range(2):  # the first pass of a process pays for kernel selection: the second is the one timed
                began = time.perf_counter()
                sum(network(inputs, wanted).values()).backward()
            self._per_image[size] = (time.perf_counter() - began) / len(rows)
            if self.request.should_stop():
                raise TrainingCancelled

    def _calibrate(self, recipe: DetectionRecipe, seconds_per_epoch: float) -> None:
        """What an epoch really cost corrects the estimates (validation and augmentation included)."""
        self._correction *= seconds_per_epoch / self.seconds_per_epoch(recipe)

    def _steps_affordable(self, recipe: DetectionRecipe) -> float:
        """Training steps the whole budget pays for with this recipe."""
        steps_per_epoch = math.ceil(len(self.train) / recipe.batch_size)
        return self.request.budget_seconds / (self.seconds_per_epoch(recipe) * self.ledger.factor) * steps_per_epoch

    def _check_budget(self) -> None:
        minimum = (self.seconds_per_epoch(replace(DEFAULT_RECIPE, min_size=MIN_SIZES[0])) * MIN_EPOCHS + 2.0)
        minimum *= self.request.device_factor
        if minimum > self.request.budget_seconds:
            suggested = max(3 * minimum, minimum + 120) / 3600
            raise TrainingFailed(
                FailureCode.NOT_ENOUGH_BUDGET,
                f"{len(self.images)} images need at least {minimum / 3600:.4f} h ({minimum:.0f} s) of compute on this "
                f"worker to train a detector for {MIN_EPOCHS} epochs, more than the budget of "
                f"{self.request.budget_seconds / 3600:.4f} h; try timeBudgetInHours of at least {suggested:.4f} "
                "(Custom Vision: reservedBudgetInHours)",
            )

    # -- the run -----------------------------------------------------------------------------------------------------

    def run(self) -> TrainingResult:
        fixed = self.request.detection_recipe
        first = fixed or replace(DEFAULT_RECIPE, epochs=schedule_epochs(len(self.train), DEFAULT_RECIPE.batch_size))
        if first.backbone not in self.backbones:
            first = replace(first, backbone=min(self.backbones))
        needed = input_size_for(self.images, self.targets, self.train)
        self._measure(first, {MIN_SIZES[0]})
        self._check_budget()  # before the other sizes are probed: a refusal should come at once
        self._measure(first, {first.min_size} if fixed else set(MIN_SIZES[1:]))
        if fixed is None:
            first = replace(first, min_size=choose_input_size(
                needed, lambda size: self._steps_affordable(replace(first, min_size=size))))
        if self.request.should_stop():
            raise TrainingCancelled
        try:
            budget = self.request.budget_seconds
            if fixed is None and searches(len(self.valid), self._steps_affordable(first)):
                devices = self._exploring_devices(first)
                if len(devices) > 1:
                    self._explore_on(first, devices)
                else:
                    self._explore(first)
                self._exploit(first)
            else:
                # (Continuing on every image after validating was tried: a second schedule on the trained network
                # cost more mAP than a fifth more images gave.)
                self._keep(first, self._train(first, until=budget))
        except TrainingCancelled:
            raise TrainingCancelled(self.ledger.billed_seconds) from None
        if self.best is None:
            raise TrainingFailed(
                FailureCode.NOT_ENOUGH_BUDGET, "the budget ran out before one epoch was trained; give more budget",
                self.ledger.billed_seconds,
            )
        return self._finish()

    def _explore(self, first: DetectionRecipe) -> None:
        until = self.request.budget_seconds * EXPLORE_SHARE
        host = self._host(first, 1)
        storage = self._study_storage(host)
        study = optuna.create_study(
            storage=storage, study_name=self.request.study_name, direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=self.request.seed, constant_liar=host is not None),
            pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        )
        study.enqueue_trial(self._params(first))

        def objective(trial: optuna.Trial) -> float:
            recipe, fitted = self.exploring(trial, has_model=self.best is not None)
            return 0.0 if fitted is None else self._keep(recipe, fitted, exploring=True)

        def stop_when_spent(study: optuna.Study, _trial) -> None:
            self._take(host)
            if self.ledger.used_seconds >= until * 0.9:
                study.stop()

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if host is not None:
            host.open(study)
        try:
            study.optimize(objective, callbacks=[stop_when_spent], catch=(), n_trials=50)
        finally:
            self._close(host, storage)

    def _host(self, first: DetectionRecipe, devices: int) -> Host | None:
        """The exploration opened to other workers (automl/joining.py), when the request invites them and the
        exploration pays each participant PARALLEL_EPOCHS epochs of the first recipe; made with the ledger the
        exploration charges."""
        request = self.request
        if request.invitation is None or request.study_storage is None:
            return None
        per_participant = PARALLEL_EPOCHS * self.seconds_per_epoch(first) * self.ledger.factor
        if request.budget_seconds * EXPLORE_SHARE < per_participant * (devices + 1):
            log.info("the exploration is too small to share: it runs on this worker alone")
            return None
        setup = {
            "task": AnnotationKind.DETECTION.short, "seed": request.seed, "backbones": sorted(self.backbones),
            "first": {**self._params(first), "epochs": first.epochs, "batch_size": first.batch_size},
            "keepLast": self.keep_last, "images": len(self.images), "classes": list(self.class_names),
            "train": len(self.train), "budgetSeconds": request.budget_seconds, "deviceFactor": self.ledger.factor,
            "exploreSeconds": request.budget_seconds * EXPLORE_SHARE,
        }
        return Host(setup, self.ledger, request.invitation.exchange, request.invitation.invite)

    def _study_storage(self, host: Host | None) -> str | optuna.storages.BaseStorage | None:
        # A host is only made with a study storage (_host).
        return self.request.study_storage if host is None else heartbeat_storage(cast(str, self.request.study_storage))

    def _take(self, host: Host | None) -> None:
        """The runs the joined workers explored since the last look."""
        if host is not None:
            for explored in host.collect():
                self._joined(explored)

    def _joined(self, explored: _Explored) -> None:
        self.count_trial()
        self._accept(explored)

    def _close(self, host: Host | None, storage) -> None:
        if host is not None:
            for explored in host.close():
                self._joined(explored)
        if isinstance(storage, optuna.storages.RDBStorage):
            storage.engine.dispose()

    def _accept(self, explored: _Explored) -> float:
        """An exploring run from a trial process or another worker, kept as if it had run here."""
        if explored.fitted is None:
            return 0.0
        if explored.fitted.state is None:  # its best epoch was its last
            explored.fitted.state = explored.fitted.last.state
        return self._keep(explored.recipe, explored.fitted, exploring=True)

    def exploring(self, trial: optuna.Trial, *, has_model: bool) -> tuple[DetectionRecipe, Fitted | None]:
        """One exploring trial on this device, within its part of the exploration (all of it on one device): the
        recipe as scheduled and what it fitted (None: the budget ran out before one epoch)."""
        whole = self.request.budget_seconds / self.ledger.devices  # this device's part of the budget
        until = whole * EXPLORE_SHARE
        recipe = DetectionRecipe(
            backbone=trial.suggest_categorical("backbone", sorted(self.backbones)),
            min_size=trial.suggest_categorical("min_size", list(MIN_SIZES)),
            # (The pyramid and head at ten times this.) Higher rates win the short exploring runs by going fast
            # in the first epochs, and then lose the long one.
            lr=trial.suggest_float("lr", 1e-4, 1e-3, log=True),
            weight_decay=trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
            augment=trial.suggest_categorical("augment", [0, 1, 2]),
            epochs=EXPLORE_EPOCHS,
        )
        if self._probed_with is not None:  # a trial process times each size on its device when a trial needs it
            self._measure(self._probed_with, {recipe.min_size})
        left = until - self.spent
        per_epoch = self.seconds_per_epoch(recipe)
        if left < per_epoch:
            raise optuna.TrialPruned("not enough of the exploration budget left for one epoch")
        # At least EXPLORE_TRIALS recipes compared, on all the devices together.
        share = self.request.budget_seconds * EXPLORE_SHARE / EXPLORE_TRIALS
        epochs = max(1, min(EXPLORE_EPOCHS, int(min(left, share) / per_epoch)))
        # Scheduled for what the winner will get: these epochs, and the budget left after the exploration.
        explored = self.request.budget_seconds * EXPLORE_SHARE  # on all the devices together
        planned = epochs + max(1, int((self.request.budget_seconds - explored) / per_epoch))
        # Until one recipe has finished an epoch, the whole budget is its limit: a model first, then choices.
        limit = until if has_model else whole
        recipe = replace(recipe, epochs=planned)
        return recipe, self._train(recipe, until=limit, trial=trial, stop_after=epochs)

    def _exploring_devices(self, first: DetectionRecipe) -> tuple[str, ...]:
        """The devices the exploration runs on: as many as each pays PARALLEL_EPOCHS epochs of the first recipe
        from its part of the exploration, one at least (the first recipe's own trial is that long)."""
        per_device = PARALLEL_EPOCHS * self.seconds_per_epoch(first) * self.ledger.factor
        fits = int(self.request.budget_seconds * EXPLORE_SHARE // max(per_device, 1e-9))
        return self.devices[: max(1, min(len(self.devices), fits))]

    def _explore_on(self, first: DetectionRecipe, devices: tuple[str, ...]) -> None:
        """The exploration on one trial process per device (parallel.optimize): each runs `exploring` within its
        part of it; this thread keeps the study, the best run and the stopping rule, and passes a cancel on."""
        log.info("the exploration runs on %s", ", ".join(devices))
        self.ledger = BudgetLedger(self.request.budget_seconds, self.request.device_factor, devices=len(devices),
                                   shared=True)  # nothing charged before: the probes are not billed
        until = self.request.budget_seconds * EXPLORE_SHARE
        host = self._host(first, len(devices))
        storage = self._study_storage(host)
        study = optuna.create_study(
            storage=storage, study_name=self.request.study_name, direction="maximize",
            # Constant liar: trials running side by side count as bad while they run, so that they differ.
            sampler=optuna.samplers.TPESampler(seed=self.request.seed, constant_liar=True),
            pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        )
        study.enqueue_trial(self._params(first))
        asked: list[int] = [0]
        reported: list[tuple[int, float | None] | None] = [None]

        def searching(slot: int) -> bool:
            """The study's stopping rule, on each device's part of the exploration."""
            spent = self.ledger.for_device(slot).own_seconds
            # (All of the exploration's share counts too: other workers may have joined it.)
            return (spent < until / len(devices) * 0.9 and self.ledger.used_seconds < until * 0.9 and asked[0] < 50
                    and not self.ledger.exhausted)

        def counted(trial: optuna.Trial) -> None:
            asked[0] += 1

        def report() -> None:
            with self._accepting:
                self._take(host)
            now = (self.trials, None if self.best is None else self.best[0])
            if now != reported[0]:
                reported[0] = now
                self._progress("training")

        setup = _ExploringSetup(
            replace(self.request, fetch=_no_fetch, on_progress=_no_progress, should_stop=_never, invitation=None),
            self.class_names, self.backbones, self.images, self.targets, first, self.keep_last, self.ledger,
        )
        threads = max(1, torch.get_num_threads() // len(devices))  # a CPU's cores, or a GPU's feeders, shared
        if host is not None:
            host.open(study)
        try:
            processes = TrialProcesses(devices, start_exploring, setup, threads=threads)
            try:
                optimize(study, processes, searching=searching, accept=self._accept_one,
                         should_stop=self.request.should_stop, on_ask=counted, on_poll=report,
                         on_died=self.ledger.release, targets={"training": self})
            finally:
                processes.close()
        finally:
            self._close(host, storage)

    def _accept_one(self, explored: _Explored) -> float:
        with self._accepting:  # a trial process's run, or (report) the joined workers' runs
            return self._accept(explored)

    def has_model(self) -> bool:
        """Whether a recipe has finished an epoch (asked by the trial processes)."""
        return self.best is not None

    def count_trial(self) -> None:
        """A trial process trained a recipe, for some epochs or part of one (pruned or not: as on one device)."""
        with self._counting:
            self.trials += 1

    def _exploit(self, first: DetectionRecipe) -> None:
        """The rest of the budget continues the best exploring run where it stopped, its schedule stretched or shrunk
        to end (its learning rate at zero) when the budget does."""
        if self.resumable is None:  # no exploring run finished its epochs: the first recipe gets what is left
            self._keep(first, self._train(first, until=self.request.budget_seconds))
            return
        _, recipe, resumable = self.resumable
        left = self.request.budget_seconds - self.ledger.used_seconds
        epochs = int(left / self.seconds_per_epoch(recipe))
        if epochs >= 1:
            recipe = replace(recipe, epochs=resumable.epochs_done + epochs)
            self._keep(recipe, self._train(recipe, until=self.request.budget_seconds, resume=resumable))

    def _train(self, recipe: DetectionRecipe, *, until: float, trial: optuna.Trial | None = None,
               stop_after: int | None = None, resume: Resumable | None = None) -> Fitted | None:
        """The recipe trained until the ledger reads `until` (None: not one epoch fitted)."""
        most = recipe.epochs if resume is None else math.inf  # a continued run's schedule was sized for the budget
        if stop_after is None and resume is None:
            affordable = int((until - self.spent) / self.seconds_per_epoch(recipe))
            recipe = replace(recipe, epochs=max(1, min(recipe.epochs, affordable)))

        def replan(done: int, seconds: float) -> int:
            """The schedule ends where the budget does, by what the epochs so far really cost."""
            left = until - self.spent
            return int(min(most, done + left / (seconds * self.ledger.factor)))

        if resume is None:
            self.trials += 1
        # (In a trial process, numbered by the study: its own count is of its device's trials only.)
        number = self.trials if trial is None or not self.own else trial.number + 1
        # The new layers' first weights come from torch's global generator: seeded here, so that a recipe and a seed
        # give the same network whatever was built before (the size probes build networks too).
        torch.manual_seed(self.request.seed + number)
        network = self._network(recipe)
        self._deadline = until

        def on_epoch(epoch: int, score: float, seconds: float) -> None:
            self._progress("training")
            if trial is not None:
                trial.report(score, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        fitted = None
        try:
            with self.ledger.holding_device():
                fitted = fit(network, self.images, self.targets, self.train, self.valid, recipe,
                             class_names=self.class_names, device=self.device, step=self.step, on_epoch=on_epoch,
                             seed=self.request.seed + number, stop_after=stop_after, resume=resume,
                             replan=replan, keep_last=self.keep_last)
        except BudgetExhausted:
            return None  # not one epoch fitted
        except optuna.TrialPruned:
            raise
        finally:
            self._deadline = math.inf
        self._calibrate(recipe, fitted.seconds_per_epoch)
        log.info("detector recipe %s: mAP@50 %.3f after %d epoch(s)", recipe, fitted.score, fitted.epochs_done)
        return fitted

    def _keep(self, recipe: DetectionRecipe, fitted: Fitted | None, *, exploring: bool = False) -> float:
        """The run's best epoch kept when it is the best yet, and an exploring run to continue when it is the best
        of those; its score (0 when it fitted nothing)."""
        if fitted is None:
            return 0.0
        if self.best is None or fitted.score >= self.best[0]:  # on a tie the later, longer-trained run
            self.best = (fitted.score, replace(recipe, epochs=fitted.best_epoch), fitted.state)
        if exploring and fitted.last is not None and (self.resumable is None or fitted.score > self.resumable[0]):
            self.resumable = (fitted.score, recipe, fitted.last)
        return fitted.score

    def _network(self, recipe: DetectionRecipe):
        return build_detector(self.backbones[recipe.backbone], len(self.class_names), min_size=recipe.min_size,
                              max_size=round(recipe.min_size * MAX_SIZE_FACTOR), weights_dir=self.request.weights_dir)

    @staticmethod
    def _params(recipe: DetectionRecipe) -> dict:
        return {"backbone": recipe.backbone, "min_size": recipe.min_size, "lr": recipe.lr,
                "weight_decay": recipe.weight_decay, "augment": recipe.augment}

    def _progress(self, phase: str) -> None:
        self.request.on_progress({
            "phase": phase, "trialsDone": self.trials,
            "bestValidationScore": None if self.best is None else round(self.best[0], 4),
            "budgetUsedSeconds": round(min(self.ledger.used_seconds, self.ledger.budget_seconds), 1),
            "budgetSeconds": self.ledger.budget_seconds,
        })

    def _finish(self) -> TrainingResult:
        score, recipe, weights = self.best  # type: ignore[misc]
        network = self._network(recipe)
        network.load_state_dict(weights)
        found = detect(network.eval().to(self.device), [self.images[r] for r in self.valid], self.device)
        names = [self.request.dataset.image_urls[r] for r in self.valid.tolist()]
        validated = predictions_of(found, [self.images[r] for r in self.valid], self.targets, self.valid,
                                   self.class_names, names)
        performance = detection_performance(validated)
        backbone = self.backbones[recipe.backbone]
        config = DetectorConfig(
            self.class_names, recipe.backbone, backbone.timm_name, recipe.min_size,
            round(recipe.min_size * MAX_SIZE_FACTOR), recipe.to_json(),
            {"validationScore": score, "trials": self.trials, "billedSeconds": self.ledger.billed_seconds,
             "heldOut": len(self.valid) if len(self.valid) < len(self.images) else 0, "devices": self.ledger.devices},
            mean=backbone.preprocess.mean, std=backbone.preprocess.std,
        )
        write_detector(self.request.output_dir, network, config)
        self._progress("succeeded")
        thumbnails = {k: thumbnail(self.images[self.valid[k]]) for k in worst_detected(validated)}
        return TrainingResult(Path(self.request.output_dir), performance, self.ledger.billed_seconds, self.trials,
                              score, validated, thumbnails)


@dataclass
class _Explored:
    """An exploring trial's run, sent back from its trial process."""

    recipe: DetectionRecipe  # as scheduled
    fitted: Fitted | None  # its `state` None when its best epoch was its last (the weights are `last.state` then)


@dataclass(frozen=True)
class _ExploringSetup:
    """What a trial process needs to run exploring trials on its device (pickled once, when it starts)."""

    request: TrainingRequest  # without its callables
    class_names: tuple[str, ...]
    backbones: dict[str, Backbone]
    images: list
    targets: Targets
    first: DetectionRecipe  # the recipe whose batch the sizes are timed with
    keep_last: bool
    ledger: BudgetLedger  # a shared one, with an account per device


def _no_fetch(url: str, max_bytes: int) -> bytes:
    raise RuntimeError("a trial process loads no images: they come with its setup")


def _no_progress(progress: dict) -> None:
    pass


def _never() -> bool:
    return False


def start_exploring(
    setup: _ExploringSetup, device: str, slot: int, relay: Relay, should_stop: Callable[[], bool]
) -> Callable[[optuna.Trial], _Explored]:
    """In a trial process (automl.parallel): a training on `device`, charging its slot of the shared ledger, with
    its own timing probes and their correction; it runs the exploring trials it is given."""
    torch.set_flush_denormal(True)  # as the coordinator's training does (training.flushing_denormals)
    on = torch.device(torch_device_name(device))
    if on.type == "cuda":
        torch.cuda.set_device(on)  # what runs on "the current device" runs on this one, and no context opens on cuda:0
    training = _Training(replace(setup.request, should_stop=should_stop), setup.class_names, setup.backbones,
                         setup.images, setup.targets, (device,), ledger=setup.ledger.for_device(slot),
                         keep_last=setup.keep_last)
    training._probed_with = setup.first
    coordinator = Remote(relay, "training")

    def run_trial(trial: optuna.Trial) -> _Explored:
        began = training.trials
        try:
            recipe, fitted = training.exploring(trial, has_model=coordinator.has_model())
        finally:
            if training.trials > began:
                coordinator.count_trial()
        if fitted is not None:
            fitted = _on_cpu(fitted)
            if fitted.last is not None and fitted.best_epoch == fitted.epochs_done:
                fitted.state = None  # the same weights as `last`: sent once
        return _Explored(recipe, fitted)

    return run_trial


def _on_cpu(value):
    """`value` with its tensors (an optimiser's state, say) on the CPU, to travel to the coordinator."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_on_cpu(v) for v in value)
    if isinstance(value, (Fitted, Resumable)):
        return replace(value, **{f: _on_cpu(getattr(value, f)) for f in ("state", "optimiser", "last")
                                 if hasattr(value, f)})
    return value
