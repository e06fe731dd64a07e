"""The Optuna study: which backbone, input size and adaptation, with which hyperparameters.

Every trial is scored on the same validated images (a hold-out, or every image once by cross-validation), so that
trials, and averages of trials, compare fairly. Linear probes reuse features computed once per backbone and size;
fine-tuning trials report their first fold's score after every epoch, and successive halving prunes the weak ones.
Every trial runs inside the budget ledger; the study stops when the budget is spent, when `patience` trials in a
row bring no improvement, or when a score is perfect.

On several devices (`run(processes=...)`) the trials run side by side, one trial process per device
(automl/parallel.py), each with its own Search on its device (`start_trials`); the Optuna study, the candidates and
the stopping rules stay here, and features computed on one device serve the others.

What the search returns is judged against a prior: the standard probe of every backbone at its own input size, the
recipe anyone would pick without searching and the strongest one known before looking at the data: logistic
regression (C = 1), or, where a class has at most PROTOTYPE_SHOTS images, class prototypes (heads.py: with one or
two images a class, a regression has nothing more to fit than the nearest class mean has). With 2 to 5 images a class the validation figures are too noisy to tell recipes apart
(a recipe "found" there is mostly luck), so the searched ensemble replaces the prior only when it is better by more
than the noise; and the members of either are weighted by the evidence for each.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import optuna
import torch
from PIL import Image
from scipy.special import expit, softmax
from sklearn.metrics import balanced_accuracy_score, log_loss

from ..coco import CocoDataset
from .artifact import Classifier
from .backbones import Backbone, Preprocess, build_backbone
from .budget import BudgetExhausted, BudgetLedger
from .devices import torch_device_name
from .failures import TrainingCancelled
from .features import FeatureCache, at_size
from .finetune import Adaptation, Crops, FineTuned, FineTuneRecipe, fine_tune
from .heads import HeadKind, HeadRecipe, fit_head
from .images import keep_side_for
from .parallel import Relay, Remote, TrialProcesses, log_trial, optimize

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)

# Every trial runs its backbone at the input size its weights were trained at (lite0 and mobilenetv2 224, lite1 240,
# lite2 260). A reduced 160 px, once in the space, fine-tunes about twice as fast but sees less: probes at 160 px
# scored 5 to 10 points below the same probes at their own size on real photographs, and an ensemble of 160-px
# fine-tuned members lost 2 points to the standard probes on benchmarks/photos.py.
STANDARD_C = 1.0  # the standard probe's inverse regularisation strength
PROTOTYPE_SHOTS = 2  # the prior's probes are class prototypes where a class has this many images or fewer
MAX_MEMBERS = 4  # an ensemble's members: each adds its backbone's cost to every prediction
# The searched ensemble replaces the prior when its validation log-loss is lower by more than this many standard
# errors of the per-image differences (one-sided, about 95%).
EVIDENCE_Z = 1.65
EVIDENCE_SCALE = 2.0  # evidence_weights: a member 2 standard errors beyond EVIDENCE_Z keeps 0.61 of its weight
MIN_WEIGHT = 0.05  # a member whose evidence weight falls below this is dropped (it would only cost time)
# Backward passes cost about twice a forward one; a forward pass over every image is what FeatureCache measures.
# Measured on 2 CPU cores, augmentation and optimiser included; the first epoch's real cost is checked (below).
TRAIN_COST = {Adaptation.FULL: 4.0, Adaptation.LAST_STAGES: 3.0, Adaptation.LINEAR_PROBE: 1.0}
FINE_TUNE_SHARE = 0.5  # of the whole budget, at most, for one fine-tuning trial: the search must go on after it
MIN_EPOCHS = 2


@dataclass
class Labels:
    images: np.ndarray  # dataset image rows that carry a label
    targets: np.ndarray  # class index per image, or a multi-hot matrix when multilabel
    class_names: tuple[str, ...]
    multilabel: bool


@dataclass
class Candidate:
    score: float
    backbone: Backbone
    input_size: int
    head: HeadRecipe  # the probe (for fine-tuning: the head it started from)
    scores: np.ndarray  # out-of-fold probabilities, aligned with the labelled images
    trial: int
    fine_tune: FineTuneRecipe | None = None
    network: Classifier | None = None  # fine-tuned: the last fold's network, in case there is no budget to refit
    seconds: float = 0.0  # the trial's charged time

    @property
    def adaptation(self) -> Adaptation:
        return Adaptation.LINEAR_PROBE if self.fine_tune is None else self.fine_tune.adaptation

    def recipe(self) -> dict[str, Any]:
        """For config.json and people."""
        recipe: dict[str, Any] = {"adaptation": self.adaptation.value, "head": self.head.kind.value, "c": self.head.c,
                                  "balanced": self.head.balanced}
        if self.fine_tune is not None:
            recipe.update({k: v for k, v in self.fine_tune.__dict__.items() if k != "adaptation"})
        return {**recipe, "validationScore": self.score, "trial": self.trial}


def sampler(seed: int | None, backbones: int, *, side_by_side: bool) -> optuna.samplers.TPESampler:
    """The study's sampler: random trials (the standard probe of each backbone first) before TPE models the scores.
    Side by side (several devices, other workers), the constant liar: trials that are running count as bad ones, so
    that the trials asked for meanwhile differ from them."""
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=backbones + 2, constant_liar=side_by_side)


def pruner() -> optuna.pruners.BasePruner:
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


def validation_score(probabilities: np.ndarray, targets: np.ndarray, *, multilabel: bool) -> float:
    """Balanced accuracy (mean per-class recall), so that a large class cannot hide the small ones; for multilabel
    models, the mean per-tag accuracy at 0.5. With a few validation images many recipes tie on accuracy; the
    log-loss, a far finer measure, breaks the tie (scaled to move the score by less than one image's worth)."""
    if multilabel:
        predicted = probabilities >= 0.5
        return float(np.mean((predicted == targets.astype(bool)).mean(axis=0)))
    accuracy = balanced_accuracy_score(targets, probabilities.argmax(axis=1))
    loss = log_loss(targets, probabilities, labels=np.arange(probabilities.shape[1]))
    return float(accuracy - min(loss, 10.0) / (10.0 * (len(targets) + 1)))


def average(scores: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    return np.average(np.stack(scores), axis=0, weights=weights)


def evidence_weights(losses: list[np.ndarray]) -> np.ndarray:
    """A weight per member from its per-image validation losses, normalised to sum to 1. z is the member's mean loss
    above the best's in standard errors of the paired per-image differences. A member keeps its full weight unless
    validation shows it worse beyond the noise (z > EVIDENCE_Z, the test the searched ensemble must pass to replace
    the prior), and then fades as exp(-((z - EVIDENCE_Z) / EVIDENCE_SCALE)^2 / 2). The best is picked on the same
    images, which inflates every other member's z (the winner's curse, worse with fewer images): below the noise,
    the average of several backbones beat any weighting of them that validation suggested (20 splits of real
    photographs and of Fashion-MNIST at 2, 5 and 10 images a class); a member that is clearly weaker on many images
    still fades out."""
    means = np.array([loss.mean() for loss in losses])
    best = losses[int(np.argmin(means))]
    weights = np.ones(len(losses))
    for i, loss in enumerate(losses):
        differences = loss - best
        if len(differences) < 2 or differences.mean() <= 0:
            continue
        error = differences.std(ddof=1) / np.sqrt(len(differences))
        z = differences.mean() / error if error > 0 else np.inf
        if z > EVIDENCE_Z:
            weights[i] = np.exp(-0.5 * ((z - EVIDENCE_Z) / EVIDENCE_SCALE) ** 2)
    return weights / weights.sum()


def keep_side_of(backbones: list[Backbone]) -> int:
    """The side a search over `backbones` keeps its images at (images.keep_side_for): the host's and a joined
    worker's alike, so that both compute the same features."""
    return keep_side_for(b.preprocess.resize_size for b in backbones)


def labels_of(dataset: CocoDataset) -> Labels:
    """The labelled images of `dataset` and their classes (a category without images is left out)."""
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
        return Labels(images, targets, names, True)
    first = np.searchsorted(rows, images)  # one category per image
    return Labels(images, remap[classes[first]], names, False)


class StudyHost(Protocol):
    """A study opened to other workers (automl/joining.py `Host`)."""

    def open(self, study: optuna.Study) -> None: ...

    def collect(self) -> list[Candidate]: ...

    def close(self) -> list[Candidate]: ...


class Search:
    def __init__(
        self,
        *,
        labels: Labels,
        images: list[Image.Image],
        cache: FeatureCache,
        backbones: list[Backbone],
        ledger: BudgetLedger,
        folds: list[tuple[np.ndarray, np.ndarray]],
        weights_dir,
        device: torch.device,
        seed: int,
        patience: int,
        adaptations: tuple[Adaptation, ...] = tuple(Adaptation),
        should_stop: Callable[[], bool],
        on_progress: Callable[[dict[str, Any]], None],
    ):
        self.labels, self.images, self.cache, self.ledger, self.folds = labels, images, cache, ledger, folds
        self.backbones = {b.name: b for b in backbones}
        self.weights_dir, self.device, self.seed, self.patience = weights_dir, device, seed, patience
        self.should_stop, self.on_progress = should_stop, on_progress
        self.adaptations = [a.value for a in Adaptation if a in adaptations]
        # Prototypes are single-label; the prior's probes are prototypes where a class has PROTOTYPE_SHOTS images or
        # fewer (validation, training each fold on half of that, cannot tell the two apart there).
        self.head_kinds = [HeadKind.LOGISTIC.value] + ([] if labels.multilabel else [HeadKind.PROTOTYPE.value])
        few = not labels.multilabel and int(np.bincount(labels.targets).min()) <= PROTOTYPE_SHOTS
        self.prior = HeadRecipe(c=STANDARD_C, kind=HeadKind.PROTOTYPE if few else HeadKind.LOGISTIC)
        self.validated = np.concatenate([valid for _, valid in folds])  # every row validated once
        self.best: Candidate | None = None
        self.candidates: list[Candidate] = []
        # Perfect accuracy, whatever the log-loss tie-breaker takes off.
        self._perfect = 1.0 - 1.0 / (len(self.validated) + 1)
        self._crops: dict[Preprocess, Crops] = {}
        self._forward_seconds: dict[tuple[str, int], float] = {}
        self.trials = 0
        self.stale = 0
        self._adding = threading.Lock()

    def run(
        self, *, storage: str | optuna.storages.BaseStorage | None = None, study_name: str | None = None,
        processes: TrialProcesses | None = None, host: StudyHost | None = None,
    ) -> None:
        """The study, here or (`processes`) on one trial process per device; the ledger must then be a shared
        one with an account for each of them. With a `host`, other workers join the study too (automl/joining.py):
        their candidates join this search's as they come, and the search waits for their last trials to end."""
        side_by_side = processes is not None or host is not None
        study = optuna.create_study(
            direction="maximize", sampler=sampler(self.seed, len(self.backbones), side_by_side=side_by_side),
            pruner=pruner(), storage=storage, study_name=study_name, load_if_exists=False,
        )
        # The standard probe on every backbone first, cheapest first, so that even a small budget ends with a model
        # and the ensemble has every backbone to choose from.
        for backbone in sorted(self.backbones.values(), key=lambda b: b.gflops):
            study.enqueue_trial(
                {"backbone": backbone.name, "head": self.prior.kind.value, "c": STANDARD_C,
                 "adaptation": self.adaptations[0]}
            )
        if host is not None:
            host.open(study)
        self.progress("searching")  # the first trial computes features: on a CPU the longest step of a small search
        try:
            if processes is not None:
                self._run_on(study, processes, host)
                return
            while self.searching:
                study.optimize(self._objective, n_trials=1, catch=(FloatingPointError,), callbacks=[log_trial])
                self._join(host)
                self.progress("searching")
        finally:
            if host is not None:
                for candidate in host.close():
                    self._joined(candidate)

    def _join(self, host: StudyHost | None) -> None:
        """The candidates other workers' trials have made since the last look."""
        if host is not None:
            for candidate in host.collect():
                self._joined(candidate)

    def _joined(self, candidate: Candidate) -> None:
        candidate.backbone = self.backbones[candidate.backbone.name]  # one object per backbone (_add)
        self.trials += 1
        self._add(candidate)

    @property
    def searching(self) -> bool:
        """Budget left, patience left, and no perfect score yet."""
        perfect = self.best is not None and self.best.score >= self._perfect
        return not self.ledger.exhausted and self.stale < self.patience and not perfect

    def _run_on(self, study: optuna.Study, processes: TrialProcesses, host: StudyHost | None = None) -> None:
        """The trials on one trial process per device (parallel.optimize), while this thread looks for a cancel and
        reports progress; features computed on one device serve the others."""
        reported = [-1]

        def accept(candidate: Candidate) -> float:
            candidate.backbone = self.backbones[candidate.backbone.name]  # one object per backbone (_add)
            self._add(candidate)
            return candidate.score

        def counted(trial: optuna.Trial) -> None:
            self.trials += 1

        def report() -> None:
            self._join(host)
            if len(self.candidates) != reported[0]:
                reported[0] = len(self.candidates)
                self.progress("searching")

        optimize(study, processes, searching=lambda slot: self.searching, accept=accept, should_stop=self.should_stop,
                 on_ask=counted, on_poll=report, on_died=self.ledger.release, targets={"features": self.cache},
                 catch=(FloatingPointError,))

    def score_of(self, scores: np.ndarray) -> float:
        rows = self.validated
        return validation_score(scores[rows], self.labels.targets[rows], multilabel=self.labels.multilabel)

    def ensemble(self) -> tuple[list[Candidate], np.ndarray]:
        """The members and their weights (summing to 1). Two ensembles are weighed: the prior (the standard probe
        of every backbone) and the searched one (the best candidate of each backbone); each member weighted by the
        evidence for it (`evidence_weights`). The searched ensemble is kept only when its validation log-loss is
        lower than the prior's by more than EVIDENCE_Z standard errors of the per-image differences: where the
        validation images cannot tell the two apart, the recipe known to be strong beats a lucky draw (measured on
        real photographs at 2 images a class: the searched ensemble lost 5 points to the prior's recipe)."""
        best_of: dict[str, Candidate] = {}
        for candidate in sorted(self.candidates, key=lambda c: c.score, reverse=True):
            best_of.setdefault(candidate.backbone.name, candidate)
        searched = self._weighed(list(best_of.values())[:MAX_MEMBERS])
        standard = {c.backbone.name: c for c in self.candidates if self.standard(c)}
        if not standard:
            return searched
        # The prior's members: the strongest backbones by their standard probe's score, as many as an ensemble has.
        prior = self._weighed(sorted(standard.values(), key=lambda c: c.score, reverse=True)[:MAX_MEMBERS])
        if self._better(searched, prior):
            return searched
        return prior

    def standard(self, candidate: Candidate) -> bool:
        """The standard probe: the prior's recipe for its backbone."""
        return (candidate.fine_tune is None and candidate.input_size == candidate.backbone.input_size
                and candidate.head == self.prior)

    def _weighed(self, members: list[Candidate]) -> tuple[list[Candidate], np.ndarray]:
        weights = evidence_weights([self.losses_of(m.scores) for m in members])
        kept = weights >= MIN_WEIGHT
        chosen = [m for m, keep in zip(members, kept) if keep]
        return chosen, weights[kept] / weights[kept].sum()

    def _better(self, ensemble: tuple[list[Candidate], np.ndarray], than: tuple[list[Candidate], np.ndarray]) -> bool:
        """Whether `ensemble`'s validation log-loss is lower than `than`'s by more than the noise."""
        if [id(m) for m in ensemble[0]] == [id(m) for m in than[0]]:
            return False
        differences = self.losses_of(self.scores_of(than)) - self.losses_of(self.scores_of(ensemble))
        if len(differences) < 2:
            return False
        error = differences.std(ddof=1) / np.sqrt(len(differences))
        return bool(differences.mean() > EVIDENCE_Z * error and differences.mean() > 0)

    @staticmethod
    def scores_of(ensemble: tuple[list[Candidate], np.ndarray]) -> np.ndarray:
        members, weights = ensemble
        return average([m.scores for m in members], weights)

    def losses_of(self, scores: np.ndarray) -> np.ndarray:
        """Log-loss per validated image (multilabel: mean binary cross-entropy over its tags)."""
        rows = self.validated
        probabilities, targets = np.clip(scores[rows], 1e-7, 1 - 1e-7), self.labels.targets[rows]
        if self.labels.multilabel:
            return -np.mean(targets * np.log(probabilities) + (1 - targets) * np.log(1 - probabilities), axis=1)
        return -np.log(probabilities[np.arange(len(rows)), targets])

    def step(self) -> None:
        """Between batches: a cancel or the end of the budget stops the work in progress."""
        if self.should_stop():
            raise TrainingCancelled
        self.ledger.check()

    def progress(self, phase: str) -> None:
        self.on_progress(
            {
                "phase": phase,
                "trialsDone": self.trials,
                "bestValidationScore": None if self.best is None else round(self.best.score, 4),
                "budgetUsedSeconds": round(min(self.ledger.used_seconds, self.ledger.budget_seconds), 1),
                "budgetSeconds": self.ledger.budget_seconds,
            }
        )

    def crops(self, backbone: Backbone, input_size: int) -> Crops:
        preprocess = at_size(backbone.preprocess, input_size)
        if preprocess not in self._crops:
            self._crops[preprocess] = Crops(self.images, preprocess)
        return self._crops[preprocess]

    # -- trials ----------------------------------------------------------------------------------------------------

    def _objective(self, trial: optuna.Trial) -> float:
        self.trials += 1
        candidate = self.candidate(trial)
        self._add(candidate)
        return candidate.score

    def candidate(self, trial: optuna.Trial) -> Candidate:
        """The trial's recipe, tried: its out-of-fold scores (the trial is pruned when the budget runs out)."""
        backbone = self.backbones[trial.suggest_categorical("backbone", sorted(self.backbones))]
        input_size = backbone.input_size
        kind = HeadKind(trial.suggest_categorical("head", self.head_kinds))
        head = HeadRecipe(c=trial.suggest_float("c", 1e-4, 1e2, log=True), kind=kind)
        if kind is HeadKind.PROTOTYPE:
            head = HeadRecipe(c=STANDARD_C, kind=kind)  # C does not apply: one prototype recipe per backbone
        adaptation = Adaptation(trial.suggest_categorical("adaptation", self.adaptations))
        recipe = None if adaptation is Adaptation.LINEAR_PROBE else self._fine_tune_recipe(trial, adaptation)
        started = self.ledger.own_seconds
        try:
            with self.ledger.holding_device():
                features = self.cache.features(backbone, input_size, step=self.step)
                if recipe is None:
                    scores, network = self._probe(features, head), None
                else:
                    recipe = self._fit_to_budget(trial, recipe, backbone, input_size)
                    scores, network = self._fine_tune(trial, backbone, input_size, features, head, recipe)
        except BudgetExhausted:
            raise optuna.TrialPruned("the budget ran out") from None
        return Candidate(self.score_of(scores), backbone, input_size, head, scores, trial.number, recipe, network,
                         self.ledger.own_seconds - started)

    def _add(self, candidate: Candidate) -> None:
        with self._adding:  # trials on several devices, and other workers' candidates, end at once
            self._add_unlocked(candidate)

    def _add_unlocked(self, candidate: Candidate) -> None:
        self.candidates.append(candidate)
        if self.best is None or candidate.score > self.best.score + 1e-9:
            self.best = candidate
            self.stale = 0
        else:
            self.stale += 1
        # Fine-tuned networks are large: keep one per backbone, the best one's (only it can join the ensemble).
        best_of_backbone = max((c for c in self.candidates if c.backbone is candidate.backbone), key=lambda c: c.score)
        for other in self.candidates:
            if other.backbone is candidate.backbone and other is not best_of_backbone:
                other.network = None

    def _probe(self, features: np.ndarray, head: HeadRecipe) -> np.ndarray:
        labels = self.labels
        classes = len(labels.class_names)
        scores = np.zeros((len(features), classes), dtype=np.float64)
        for train, valid in self.folds:
            self.step()
            fitted = fit_head(features[train], labels.targets[train], classes, head, multilabel=labels.multilabel,
                              seed=self.seed)
            logits = fitted.logits(features[valid])
            scores[valid] = expit(logits) if labels.multilabel else softmax(logits, axis=1)
        return scores

    def _fine_tune_recipe(self, trial: optuna.Trial, adaptation: Adaptation) -> FineTuneRecipe:
        return FineTuneRecipe(
            adaptation=adaptation,
            lr=trial.suggest_float("lr", 1e-5, 3e-3, log=True),
            weight_decay=trial.suggest_float("weight_decay", 1e-5, 1e-1, log=True),
            epochs=trial.suggest_int("epochs", MIN_EPOCHS, 20),
            augment=trial.suggest_float("augment", 0.0, 1.0),
            label_smoothing=trial.suggest_float("label_smoothing", 0.0, 0.2),
        )

    def train_seconds(self, backbone: Backbone, input_size: int, adaptation: Adaptation, images: int) -> float:
        """Estimated device time of one epoch over `images`, from a measured forward pass."""
        key = (backbone.name, input_size)
        if key not in self._forward_seconds:
            self._forward_seconds[key] = self.cache.seconds_per_image(backbone, input_size)
        return self._forward_seconds[key] * TRAIN_COST[adaptation] * images

    def _fit_to_budget(self, trial: optuna.Trial, recipe: FineTuneRecipe, backbone: Backbone, input_size: int) -> FineTuneRecipe:
        """As many of the suggested epochs as the budget allows; a trial that cannot train MIN_EPOCHS is pruned."""
        trained = sum(len(train) for train, _ in self.folds)
        per_epoch = self.train_seconds(backbone, input_size, recipe.adaptation, trained) + self.train_seconds(
            backbone, input_size, Adaptation.LINEAR_PROBE, len(self.validated)
        )
        allowance = self._allowance()
        epochs = min(recipe.epochs, int(allowance // max(per_epoch, 1e-9)))
        if epochs < MIN_EPOCHS:
            raise optuna.TrialPruned(
                f"{recipe.adaptation.value} of {backbone.name} at {input_size} px needs about {per_epoch:.1f} s an "
                f"epoch; {allowance:.1f} s are available"
            )
        if epochs < recipe.epochs:
            trial.set_user_attr("epochs_run", epochs)
            log.info("fine-tuning %s for %d epochs instead of %d, to fit the budget", backbone.name, epochs,
                     recipe.epochs)
        return FineTuneRecipe(**{**recipe.__dict__, "epochs": epochs})

    def _fine_tune(
        self, trial: optuna.Trial, backbone: Backbone, input_size: int, features: np.ndarray, head: HeadRecipe,
        recipe: FineTuneRecipe,
    ) -> tuple[np.ndarray, Classifier]:
        labels = self.labels
        crops = self.crops(backbone, input_size)
        scores = np.zeros((len(features), len(labels.class_names)), dtype=np.float64)
        network = None
        for k, (train, valid) in enumerate(self.folds):
            result = self.fine_tune_once(backbone, crops, features, head, recipe, train, valid,
                                         on_epoch=self._reporter(trial, valid, recipe.epochs) if k == 0 else None)
            if not result.complete and len(self.folds) > 1:
                raise BudgetExhausted  # a fold without its scores: no fair comparison with the other trials
            scores[valid] = result.probabilities
            network = result.network
        assert network is not None
        return scores, network

    def fine_tune_once(
        self, backbone: Backbone, crops: Crops, features: np.ndarray, head: HeadRecipe, recipe: FineTuneRecipe,
        train: np.ndarray, valid: np.ndarray, on_epoch: Callable[[int, np.ndarray], None] | None = None,
    ) -> FineTuned:
        """The probe fitted on the train rows' features, then fine-tuned with them (LP-FT)."""
        labels = self.labels
        fitted = fit_head(features[train], labels.targets[train], len(labels.class_names), head,
                          multilabel=labels.multilabel, seed=self.seed)
        network = Classifier(build_backbone(backbone.name, weights_dir=self.weights_dir, num_classes=0),
                             fitted.exported())
        return fine_tune(
            network, crops, labels.targets, train, valid, recipe, multilabel=labels.multilabel, device=self.device,
            step=self.step, on_epoch=on_epoch or (lambda epoch, probabilities: None), seed=self.seed,
        )

    def _reporter(self, trial: optuna.Trial, valid: np.ndarray, epochs: int) -> Callable[[int, np.ndarray], None]:
        targets = self.labels.targets[valid]
        started, allowance = self.ledger.own_seconds, self._allowance()

        def report(epoch: int, probabilities: np.ndarray) -> None:
            trial.report(validation_score(probabilities, targets, multilabel=self.labels.multilabel), step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")
            if epoch == 1:  # the estimate checked against a real epoch: stop now rather than at the budget's end
                projected = (self.ledger.own_seconds - started) * epochs * len(self.folds)
                if projected > 1.2 * allowance:
                    raise optuna.TrialPruned(f"would take about {projected:.0f} s; {allowance:.0f} s are available")

        return report

    def _allowance(self) -> float:
        """What one trial may spend: on k devices the budget left drains k times as fast, so its k-th part."""
        return min(self.ledger.remaining_seconds / self.ledger.devices, FINE_TUNE_SHARE * self.ledger.budget_seconds)


@dataclass(frozen=True)
class TrialSetup:
    """What a trial process needs to run a Search's trials on its device (pickled once, when it starts)."""

    labels: Labels
    images: list[Image.Image]
    backbones: list[Backbone]
    folds: list[tuple[np.ndarray, np.ndarray]]
    weights_dir: Path
    seed: int
    adaptations: tuple[Adaptation, ...]
    ledger: BudgetLedger  # a shared one, with an account per device


def start_trials(
    setup: TrialSetup, device: str, slot: int, relay: Relay, should_stop: Callable[[], bool]
) -> Callable[[optuna.Trial], Candidate]:
    """In a trial process (automl.parallel): a Search on `device`, charging its slot of the shared ledger, its
    features shared with the coordinator's cache; it runs the trials it is given and returns their candidates."""
    torch.set_flush_denormal(True)  # as the coordinator's training does (training.flushing_denormals)
    on = torch.device(torch_device_name(device))
    if on.type == "cuda":
        torch.cuda.set_device(on)  # what runs on "the current device" runs on this one, and no context opens on cuda:0
    cache = FeatureCache(setup.images, setup.weights_dir, on, shared=Remote(relay, "features"))
    search = Search(
        labels=setup.labels, images=setup.images, cache=cache, backbones=setup.backbones,
        ledger=setup.ledger.for_device(slot), folds=setup.folds, weights_dir=setup.weights_dir, device=on,
        seed=setup.seed, patience=0, adaptations=setup.adaptations, should_stop=should_stop,
        on_progress=lambda progress: None,
    )
    return search.candidate
