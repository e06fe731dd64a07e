"""One training on two workers: the host opens its study (PostgreSQL, which every worker reaches) and a second worker
joins it, runs trials on its own device and hands back their candidates (a classifier's) or explored runs (a
detector's); the bill, every worker's device-seconds, stays within the budget. Here the second worker is a thread
with its own reading of the same dataset."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import optuna
import pytest

from tailor.automl import TrainingRequest, joining, train_classifier
from tailor.automl.budget import BudgetLedger
from tailor.automl.detection import Detector, train_detector, training as detection_training
from tailor.automl.detection.joining import join_exploration
from tailor.automl.joining import (
    CANDIDATE,
    OPEN,
    PARTICIPANT,
    SECONDS,
    Host,
    Invitation,
    JoinRequest,
    JoinResult,
    heartbeat_storage,
    join_training,
)
from tailor.automl.studies import prepare_study_storage
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, Purpose, validate_coco
from tests.databases import postgres_url  # noqa: F401  (the session's PostgreSQL database)
from tests.images import boxes_dataset, shapes_dataset

READER = BlobReader(BlobPolicy.local_user())


class Files:
    """The exchange as the workers' layer keeps it (Tailor's storage), in memory."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def put(self, name: str, data: bytes) -> None:
        self.kept[name] = data

    def get(self, name: str) -> bytes:
        return self.kept[name]


def _noisy_shapes(tmp_path: Path):
    path = shapes_dataset(tmp_path / "data", classes=3, per_class=4)
    coco = json.loads(path.read_text())
    # Two wrong labels: no score comes near perfect, and the budget ends the search.
    coco["annotations"][0]["category_id"], coco["annotations"][4]["category_id"] = 2, 3
    path.write_text(json.dumps(coco))
    return validate_coco([READER.annotation_file(str(path), max_bytes=10**7)], AnnotationKind.CLASSIFICATION,
                         Purpose.TRAINING).dataset


def test_a_second_worker_joins_the_search_and_the_bill_stays_within_the_budget(
    tmp_path: Path, weights_dir: Path, postgres_url: str
) -> None:
    prepare_study_storage(postgres_url)
    dataset, files, budget = _noisy_shapes(tmp_path), Files(), 40.0
    joined: list[JoinResult] = []
    threads: list[threading.Thread] = []

    def invite(study_name: str) -> None:  # the arq worker queues a job; another worker takes it
        request = JoinRequest(dataset, READER.image_fetcher(Access()), weights_dir, postgres_url, study_name, files,
                              "worker-b")
        threads.append(threading.Thread(target=lambda: joined.append(join_training(request))))
        threads[-1].start()

    result = train_classifier(TrainingRequest(
        dataset, READER.image_fetcher(Access()), budget, weights_dir, tmp_path / "model", study_storage=postgres_url,
        study_name="joined-search", patience=10**6, invitation=Invitation(files, invite),
    ))
    for thread in threads:
        thread.join(60)
    assert len(joined) == 1 and joined[0].trials >= 1 and joined[0].charged_seconds > 0, joined
    study = optuna.load_study(study_name="joined-search", storage=postgres_url)
    theirs = [t for t in study.trials if t.user_attrs.get(PARTICIPANT) == "worker-b"]
    done = [t for t in theirs if t.state is optuna.trial.TrialState.COMPLETE]
    assert done and all(t.user_attrs[CANDIDATE] in files.kept for t in done), [(t.number, t.state) for t in theirs]
    ours = [t for t in study.trials if PARTICIPANT not in t.user_attrs and t.datetime_complete]
    assert any(a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete
               for a in ours for b in theirs if b.datetime_complete), "the two workers' trials never overlapped"
    # Device-seconds of both workers: the bill counts the second worker's charge and never passes the budget.
    assert study.user_attrs[OPEN] is False
    charged = {key: value for key, value in study.user_attrs.items() if key.startswith(SECONDS)}
    assert set(charged) == {SECONDS + joining.HOST, SECONDS + "worker-b"}, charged
    assert joined[0].charged_seconds <= result.billed_seconds <= budget
    assert result.billed_seconds >= min(budget, sum(charged.values())) - 1.0, (result.billed_seconds, charged)
    search = json.loads((result.artifact_dir / "config.json").read_text())["search"]
    assert search["trials"] == result.trials >= len(ours) + len(done) - 1 and result.best_score > 0.5


@pytest.mark.slow
def test_a_dead_joined_workers_trial_is_failed_and_run_again_and_the_host_does_not_wait_for_ever(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setattr(joining, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(joining, "GRACE_SECONDS", 2)
    prepare_study_storage(postgres_url)
    storage = heartbeat_storage(postgres_url)
    study = optuna.create_study(study_name="a-dead-worker", storage=storage, direction="maximize")
    # A joined worker took a trial, beat once, and died.
    trial = study.ask({"c": optuna.distributions.FloatDistribution(0.1, 1.0)})
    trial.set_user_attr(PARTICIPANT, "worker-dead")
    storage.record_heartbeat(trial._trial_id)
    ledger = BudgetLedger(10.0)
    host = Host({"seed": 0}, ledger, Files(), invite=lambda study_name: None)
    host.open(study)
    started = time.monotonic()
    assert host.close() == []
    assert time.monotonic() - started < 20
    states = [t.state for t in study.trials]
    assert states[0] is optuna.trial.TrialState.FAIL
    assert optuna.trial.TrialState.WAITING in states[1:]  # given to the next participant that asks, once
    storage.engine.dispose()


def test_a_worker_that_reads_the_dataset_differently_does_not_join(
    tmp_path: Path, weights_dir: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    prepare_study_storage(postgres_url)
    study = optuna.create_study(study_name="another-dataset", storage=postgres_url, direction="maximize")
    study.set_user_attr(joining.SETUP, {"seed": 0, "backbones": ["some-other-backbone"], "images": 3, "classes": ["a"],
                                        "folds": [3], "adaptations": [], "budgetSeconds": 10.0, "deviceFactor": 1.0,
                                        "multilabel": False})
    study.set_user_attr(OPEN, True)
    request = JoinRequest(_noisy_shapes(tmp_path), READER.image_fetcher(Access()), weights_dir, postgres_url,
                          "another-dataset", Files(), "worker-c")
    with caplog.at_level("WARNING", logger="tailor.automl.joining"):
        assert join_training(request) == JoinResult(0, 0.0)
    assert "worker-c does not join another-dataset: it has the backbones" in caplog.text
    assert study.trials == []


def test_a_second_worker_joins_a_detectors_exploration_and_the_host_continues_the_best_run(
    tmp_path: Path, weights_dir: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A search on 4 images within a budget of seconds (as tests/automl/test_detection_devices.py), shared by two.
    monkeypatch.setattr(detection_training, "TARGET_STEPS", 5)
    monkeypatch.setattr(detection_training, "MIN_VALIDATION_IMAGES", 2)
    monkeypatch.setattr(detection_training, "PARALLEL_EPOCHS", 1)
    monkeypatch.setattr(detection_training, "EXPLORE_SHARE", 0.75)  # time for the second worker to start and join
    # The exploration runs whatever this machine's speed makes of the budget (a loaded machine would skip it), and
    # the joined worker's runs are not halved away after their first epoch: the test is of their way back.
    monkeypatch.setattr(detection_training, "searches", lambda validation_images, steps_affordable: True)
    monkeypatch.setattr(joining, "pruner", optuna.pruners.NopPruner)
    prepare_study_storage(postgres_url)
    coco, _ = boxes_dataset(tmp_path / "data", classes=2, per_class=2, size=(96, 72))
    dataset = validate_coco([READER.annotation_file(str(coco), max_bytes=10**7)], AnnotationKind.DETECTION,
                            Purpose.TRAINING).dataset
    files, budget = Files(), 60.0
    joined: list[JoinResult] = []
    threads: list[threading.Thread] = []

    def invite(study_name: str) -> None:
        request = JoinRequest(dataset, READER.image_fetcher(Access()), weights_dir, postgres_url, study_name, files,
                              "worker-b")
        threads.append(threading.Thread(target=lambda: joined.append(join_exploration(request))))
        threads[-1].start()

    result = train_detector(TrainingRequest(
        dataset, READER.image_fetcher(Access()), budget, weights_dir, tmp_path / "model", study_storage=postgres_url,
        study_name="joined-exploration", invitation=Invitation(files, invite),
    ))
    for thread in threads:
        thread.join(60)
    assert len(joined) == 1 and joined[0].trials >= 1 and joined[0].charged_seconds > 0, joined
    study = optuna.load_study(study_name="joined-exploration", storage=postgres_url)
    theirs = [t for t in study.trials if t.user_attrs.get(PARTICIPANT) == "worker-b"]
    assert any(t.user_attrs.get(CANDIDATE) in files.kept for t in theirs), [(t.number, t.state) for t in theirs]
    charged = {key: value for key, value in study.user_attrs.items() if key.startswith(SECONDS)}
    # The exploration's share is counted across both workers: the joined one stayed within it.
    assert charged[SECONDS + "worker-b"] <= budget * detection_training.EXPLORE_SHARE + 10, charged
    assert joined[0].charged_seconds <= result.billed_seconds <= budget
    assert Detector.load(result.artifact_dir).class_names == ("disc", "square")
