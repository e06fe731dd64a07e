"""One classifier training on several workers: its Optuna study, in the PostgreSQL every worker reaches, is opened to
others, which join it and run trials on their own devices (Optuna's pattern for distributed studies).

The worker that runs the training (the host) creates the study and opens it (`Host.open`): the study's user
attributes say what the trials are (seed, backbones, budget, the shape of the data) and that it is open. A worker
that joins (`join_training`) loads the same dataset, checks that it sees the same images and classes, loads the
study and runs `study.optimize` one trial at a time with Optuna's heartbeat, so that the trial of a worker that dies
is failed (and given to another, once) instead of running for ever. Each finished trial's candidate goes through an
`Exchange` (Tailor's storage, from the workers' layer) and its name into the trial's user attributes; the host
takes the candidates into its search as they come.

The budget is device-seconds across every worker: each participant publishes what its own ledger has charged
(`tailor:seconds:<participant>`) every SYNC_SECONDS, and sets what the others published as its ledger's
`elsewhere`, so that every trial stops at its next step once the sum reaches the budget. The host bills the sum,
capped at the budget, once the study is closed and the other workers' last trials have ended (or been failed by
the heartbeat). Charges made within SYNC_SECONDS of the end may be missed: billed less, never more.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import optuna
import torch

from ..coco import CocoDataset
from ..enums import AnnotationKind
from .backbones import available_backbones
from .budget import BudgetLedger
from .devices import default_device, torch_device_name
from .failures import TrainingCancelled
from .features import FeatureCache
from .finetune import Adaptation
from .images import Fetch, load_images
from .parallel import log_trial
from .search import Candidate, Labels, Search, keep_side_of, labels_of, pruner, sampler
from .validation import validation_folds

log = logging.getLogger(__name__)
# Optuna marks its heartbeat experimental (since 2.8): it is what its documentation gives for dead workers.
warnings.filterwarnings("ignore", r".*(heartbeat|fail_stale_trials|RetryHeartbeatStaleTrialCallback)",
                        category=optuna.exceptions.ExperimentalWarning)
# The host's trials on several devices go by ask and tell, without a heartbeat: a host that dies ends its attempt.
warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize", UserWarning)

HEARTBEAT_SECONDS = 10  # a joined trial's heartbeat; one silent for GRACE_SECONDS is failed
GRACE_SECONDS = 30
SYNC_SECONDS = 1.0  # how often a participant publishes its charge and reads the others'
SETUP_WAIT_SECONDS = 600  # a worker invited to join waits this long for the study to open
CLOSE_WAIT_SECONDS = GRACE_SECONDS + 30  # the host waits this long for the joined trials still running

OPEN, SETUP, SECONDS, CANDIDATE, PARTICIPANT = (
    "tailor:open", "tailor:setup", "tailor:seconds:", "tailor:candidate", "tailor:participant"
)
HOST = "host"


class Exchange(Protocol):
    """Where the joined workers leave their trials' candidates for the host (named by the trial)."""

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes: ...


@dataclass(frozen=True)
class Invitation:
    """How a training opens its study to other workers (TrainingRequest.invitation): where they leave their
    candidates, and how they are asked to join (`invite(study_name)`)."""

    exchange: Exchange
    invite: Callable[[str], None]


def heartbeat_storage(url: str) -> optuna.storages.RDBStorage:
    """The study's storage with Optuna's heartbeat: a trial whose worker died is failed, then run once more."""
    return optuna.storages.RDBStorage(
        url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
    )


def describe(labels: Labels, folds: list[tuple[np.ndarray, np.ndarray]], backbones: list[str], seed: int,
             adaptations: tuple[Adaptation, ...], ledger: BudgetLedger) -> dict[str, Any]:
    """What a joining worker must agree on with the host (a JSON user attribute of the study)."""
    return {
        "task": AnnotationKind.CLASSIFICATION.short, "seed": seed, "backbones": sorted(backbones), "adaptations": [a.value for a in adaptations],
        "budgetSeconds": ledger.budget_seconds, "deviceFactor": ledger.factor,
        "images": len(labels.images), "classes": list(labels.class_names), "multilabel": labels.multilabel,
        "folds": [len(valid) for _, valid in folds],
    }


class Participant:
    """A participant's ledger kept in step with the others': its own charge out, theirs in, every SYNC_SECONDS, in
    a thread; `open` follows the study's OPEN attribute. `should_stop`: the study closed, or `stop` says so."""

    def __init__(self, study: optuna.Study, ledger: BudgetLedger, participant: str,
                 stop: Callable[[], bool] = lambda: False):
        self.study, self.ledger, self.participant, self._asked_to_stop = study, ledger, participant, stop
        self.open = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def should_stop(self) -> bool:
        return not self.open or self._asked_to_stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"tailor-join-{self.participant}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(SYNC_SECONDS * 10)
        self.sync()  # the last figure: what this participant charged in all

    def sync(self) -> None:
        try:
            self.study.set_user_attr(SECONDS + self.participant, round(self.ledger.local_seconds, 3))
            attributes = self.study.user_attrs
        except Exception:  # the database away for a moment: the ledgers run on their last figures meanwhile
            log.warning("the study %s could not be synchronised", self.study.study_name, exc_info=True)
            return
        self.ledger.set_elsewhere(sum(
            float(value) for key, value in attributes.items()
            if key.startswith(SECONDS) and key != SECONDS + self.participant
        ))
        self.open = bool(attributes.get(OPEN, False))

    def _run(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            self.sync()


class Host:
    """The host's side of a study opened to other workers (Search.run's `host`). `invite(study_name)` asks other
    workers to join (the workers' layer queues jobs for them)."""

    def __init__(self, setup: dict[str, Any], ledger: BudgetLedger, exchange: Exchange,
                 invite: Callable[[str], None]):
        self._setup, self._ledger, self._exchange, self._invite = setup, ledger, exchange, invite
        self._study: optuna.Study | None = None
        self._sync: Participant | None = None
        self._taken: set[int] = set()

    def open(self, study: optuna.Study) -> None:
        self._study = study
        study.set_user_attr(SETUP, self._setup)
        study.set_user_attr(OPEN, True)
        self._sync = Participant(study, self._ledger, HOST)
        self._sync.start()
        try:
            self._invite(study.study_name)
        except Exception:  # the training goes on alone
            log.warning("no other worker could be asked to join %s", study.study_name, exc_info=True)

    def collect(self) -> list[Any]:
        """What the joined workers' trials that finished since the last call left for the host (Candidates of a
        classifier's search, explored runs of a detector's)."""
        assert self._study is not None
        try:
            optuna.storages.fail_stale_trials(self._study)
            trials = self._study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        except Exception:
            log.warning("the study %s could not be read", self._study.study_name, exc_info=True)
            return []
        found = []
        for trial in trials:
            name = trial.user_attrs.get(CANDIDATE)
            if name is None or trial.number in self._taken:
                continue
            self._taken.add(trial.number)
            try:
                found.append(pickle.loads(self._exchange.get(name)))
            except Exception:
                log.warning("the candidate of trial %d (%s) could not be read; it is left out", trial.number,
                            trial.user_attrs.get(PARTICIPANT), exc_info=True)
        return found

    def close(self) -> list[Any]:
        """Close the study to new trials, wait for the joined workers' trials still running (they stop at their next
        step; a dead one's is failed by the heartbeat), and return the candidates not yet collected. The ledger then
        holds every participant's charge."""
        study, sync = self._study, self._sync
        if study is None or sync is None:
            return []
        try:
            study.set_user_attr(OPEN, False)
        except Exception:
            log.warning("the study %s could not be closed", study.study_name, exc_info=True)
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        while time.monotonic() < deadline and self._joined_running(study):
            time.sleep(SYNC_SECONDS)
        time.sleep(SYNC_SECONDS)  # the last figures the joined workers publish as they leave
        sync.stop()
        return self.collect()

    @staticmethod
    def _joined_running(study: optuna.Study) -> bool:
        try:
            optuna.storages.fail_stale_trials(study)
            running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        except Exception:
            return False
        return any(PARTICIPANT in trial.user_attrs for trial in running)


@dataclass(frozen=True)
class JoinRequest:
    """A worker joining another's training: the same dataset (loaded by this worker), its devices, the study."""

    dataset: CocoDataset
    fetch: Fetch
    weights_dir: Path
    study_storage: str
    study_name: str
    exchange: Exchange
    participant: str  # who this worker is, in the study's attributes and the log
    device: str | None = None
    should_stop: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class JoinResult:
    trials: int
    charged_seconds: float


def join_training(request: JoinRequest) -> JoinResult:
    """Run trials of the classifier study `request.study_name` until it closes, the budget is spent, or
    `should_stop`; each finished trial's candidate is left in the exchange for the host. Returns what this worker
    did (nothing when the study never opened or this worker cannot run its trials: it says why in the log)."""

    def prepare(setup: dict[str, Any], participant: Participant) -> Objective | str:
        labels = labels_of(request.dataset)  # as the host reads it: both sides must label alike
        backbones = [b for b in available_backbones(request.weights_dir) if b.name in setup["backbones"]]
        folds = validation_folds(labels.targets, multilabel=labels.multilabel, seed=setup["seed"])
        mismatch = _mismatch(setup, labels, [b.name for b in backbones], folds)
        if mismatch:
            return mismatch
        images = load_images(request.dataset.image_urls, request.fetch, keep_side=keep_side_of(backbones))
        images = [images[i] for i in labels.images.tolist()]
        device = torch.device(torch_device_name(request.device or default_device()))
        search = Search(
            labels=labels, images=images, cache=FeatureCache(images, request.weights_dir, device), backbones=backbones,
            ledger=participant.ledger, folds=folds, weights_dir=request.weights_dir, device=device,
            seed=setup["seed"], patience=0, adaptations=tuple(Adaptation(a) for a in setup["adaptations"]),
            should_stop=participant.should_stop, on_progress=lambda progress: None,
        )

        def objective(trial: optuna.Trial) -> tuple[float, Candidate]:
            candidate = search.candidate(trial)
            return candidate.score, candidate

        return objective

    return take_part(request, prepare, lambda setup: sampler(None, len(setup["backbones"]), side_by_side=True))


Objective = Callable[[optuna.Trial], tuple[float, Any]]
Prepare = Callable[[dict[str, Any], Participant], Objective | str]


def take_part(
    request: JoinRequest, prepare: Prepare, sampler_of: Callable[[dict[str, Any]], optuna.samplers.BaseSampler],
    keep_going: Callable[[BudgetLedger], bool] = lambda ledger: True,
) -> JoinResult:
    """A joined worker's loop, for either kind of training: wait for the study to open, `prepare(setup,
    participant)` the trials (or say why this worker cannot run them), then run them one at a time while the study
    is open, the budget lasts, `keep_going(ledger)` and not `should_stop`. An objective returns the trial's score
    and what the host keeps of it (None: nothing), which goes through the exchange."""
    storage = heartbeat_storage(request.study_storage)
    try:
        setup = _wait_for_setup(storage, request)
        if setup is None:
            return JoinResult(0, 0.0)
        study = optuna.load_study(study_name=request.study_name, storage=storage, sampler=sampler_of(setup),
                                  pruner=pruner())
        participant = Participant(study, BudgetLedger(setup["budgetSeconds"], setup["deviceFactor"]),
                                  request.participant, request.should_stop)
        participant.sync()
        prepared = prepare(setup, participant)
        if isinstance(prepared, str):
            log.warning("%s does not join %s: %s", request.participant, request.study_name, prepared)
            return JoinResult(0, 0.0)
        run = prepared

        def objective(trial: optuna.Trial) -> float:
            trial.set_user_attr(PARTICIPANT, request.participant)
            score, kept = run(trial)
            if kept is not None:
                name = f"trial-{trial.number}"
                request.exchange.put(name, pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL))
                trial.set_user_attr(CANDIDATE, name)
            return score

        trials, ledger = 0, participant.ledger
        participant.start()
        log.info("%s joins %s", request.participant, request.study_name)
        try:
            while participant.open and not ledger.exhausted and keep_going(ledger) and not request.should_stop():
                trials += 1
                study.optimize(objective, n_trials=1, catch=(FloatingPointError,), callbacks=[log_trial])
        except TrainingCancelled:
            pass  # the study closed, or this worker was asked to stop: the trial in progress ended failed
        finally:
            participant.stop()
        log.info("%s leaves %s after %d trials, %.1f s charged", request.participant, request.study_name, trials,
                 ledger.local_seconds)
        return JoinResult(trials, ledger.local_seconds)
    finally:
        storage.engine.dispose()


def _wait_for_setup(storage: optuna.storages.RDBStorage, request: JoinRequest) -> dict[str, Any] | None:
    """The study's setup once it is open; None when it closed first, never opened, or this worker must stop."""
    deadline = time.monotonic() + SETUP_WAIT_SECONDS
    while time.monotonic() < deadline and not request.should_stop():
        try:
            attributes = storage.get_study_user_attrs(storage.get_study_id_from_name(request.study_name))
        except KeyError:  # not created yet
            attributes = {}
        if attributes.get(SETUP) is not None:
            return attributes[SETUP] if attributes.get(OPEN) else None
        time.sleep(SYNC_SECONDS)
    return None


def _mismatch(setup: dict[str, Any], labels: Labels, backbones: list[str],
              folds: list[tuple[np.ndarray, np.ndarray]]) -> str | None:
    """Why this worker's reading of the training differs from the host's; None when they agree."""
    if sorted(backbones) != setup["backbones"]:
        return f"it has the backbones {sorted(backbones)}, the training uses {setup['backbones']}"
    if len(labels.images) != setup["images"] or list(labels.class_names) != setup["classes"]:
        return (f"it reads {len(labels.images)} images of {len(labels.class_names)} classes, the host "
                f"{setup['images']} of {len(setup['classes'])}")
    if [len(valid) for _, valid in folds] != setup["folds"]:
        return "its validation folds differ from the host's"
    return None
