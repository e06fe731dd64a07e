"""The training job on its own: every state it can start from, and the failures that only it can see."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest

from tailor.blobs import Access
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.models import FailureCode, Model, ModelKind, ModelService, ModelStatus, TrainingParameters
from tailor.settings import Settings
from tailor.workers import JobContext, run_training
from tests.api.conftest import SECRET_KEY
from tests.images import shapes_dataset


def make_context(tmp_path: Path, database: str) -> JobContext:
    root = tmp_path / "datasets"
    settings = Settings(data_dir=tmp_path / "data", database_url=database, data_roots=[str(root)], training_key="k",
                        secret_key=SECRET_KEY)
    settings.data_dir.mkdir(parents=True)
    context = JobContext(settings)
    path = shapes_dataset(root / "shapes", classes=2, per_class=4)
    context.store.datasets.insert("shapes", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(path),), {}, Access()))
    return context


@pytest.fixture
def context(tmp_path: Path):
    context = make_context(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield context
    context.close()


def new_model(context: JobContext, name: str = "m", budget_hours: float = 0.01) -> None:
    context.store.models.insert(name, TrainingParameters("shapes", budget_hours, ModelKind.CLASSIFIER), None)


@pytest.mark.slow
def test_a_model_trains_to_success_and_records_its_artifact(tmp_path: Path, database_url: str) -> None:
    """On SQLite and PostgreSQL: the Optuna study is kept in the same database as the metadata."""
    context = make_context(tmp_path, database_url)
    new_model(context)
    assert run_training("m", context) is ModelStatus.SUCCEEDED
    model = context.store.models.get("m")
    # Kept in Tailor's storage under its name (the data directory's on the embedded default), not by a path.
    assert model.attempt == 1 and model.artifact and model.artifact.startswith("models/m/attempt-1-")
    files = json.loads(context.storage.get(f"{model.artifact}/manifest.json"))["files"]
    assert {"model.safetensors", "config.json", "heldout-predictions.json", "report/report.json"} <= set(files)
    assert not context.artifact_dir("m", 1).exists()  # trained on this host's disk, then moved to the storage
    assert 0 < model.billed_seconds <= 36 and model.performance["accuracyTop1"] > 0.5
    studies = optuna.get_all_study_names(storage=context.settings.resolved_database_url)
    assert any(name.startswith("m/attempt-1/") for name in studies)
    with context.artifacts.local_copy(model.artifact):  # a copy in this host's cache, which the delete takes too
        pass
    # No job is queued by a delete.
    ModelService(context.store, queue=None, artifacts=context.artifacts).delete("m")  # type: ignore[arg-type]
    assert not context.storage.exists(f"{model.artifact}/manifest.json")
    assert not (context.settings.data_dir / "storage" / "models" / "m").exists()
    assert not any(path.is_dir() for path in context.artifacts.cache_dir.iterdir())
    context.close()


def test_a_dataset_deleted_before_training_fails_as_dataset_not_found(context: JobContext) -> None:
    new_model(context)
    context.store.datasets.delete("shapes", None)
    assert run_training("m", context) is ModelStatus.FAILED
    error = context.store.models.get("m").error
    assert error.code is FailureCode.DATASET_NOT_FOUND and "shapes" in error.message


def test_the_budget_is_in_the_progress_from_the_start_before_any_trial(context: JobContext) -> None:
    # The dataset goes before training: the attempt ends without a trial, with what it showed while it loaded.
    new_model(context, budget_hours=0.01)
    context.store.datasets.delete("shapes", None)
    run_training("m", context)
    progress = context.store.models.get("m").progress
    assert progress == {"phase": "loading", "attempt": 1, "trialsDone": 0, "bestValidationScore": None,
                        "budgetUsedSeconds": 0.0, "budgetSeconds": 36.0}


@pytest.mark.slow
def test_an_unexpected_failure_is_unknown_with_an_incident_id(context: JobContext) -> None:
    new_model(context)
    blocked = context.artifact_dir("m", 1).parent
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the model's folder must go")  # a real failure, deep inside the job
    assert run_training("m", context) is ModelStatus.FAILED
    error = context.store.models.get("m").error
    assert error.code is FailureCode.UNKNOWN and "quote incident" in error.message


def test_nothing_to_do_for_final_missing_or_cancelling_models(context: JobContext) -> None:
    assert run_training("absent", context) is None
    new_model(context, "done")
    context.store.models.move("done", ModelStatus.NOT_STARTED, ModelStatus.CANCELLED)
    assert run_training("done", context) is None
    new_model(context, "stopping")
    context.store.models.move("stopping", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=1)
    context.store.models.move("stopping", ModelStatus.TRAINING, ModelStatus.CANCELLING)
    assert run_training("stopping", context) is ModelStatus.CANCELLED


@pytest.mark.slow
def test_an_attempt_left_in_training_by_a_crash_is_replaced_and_not_billed(context: JobContext) -> None:
    new_model(context)
    context.store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=1, billed_seconds=999.0)
    assert run_training("m", context) is ModelStatus.SUCCEEDED
    model = context.store.models.get("m")
    assert model.attempt == 2 and model.billed_seconds <= 36


@pytest.mark.slow
def test_a_trained_model_that_cannot_be_stored_fails_as_unknown(context: JobContext) -> None:
    # The storage refuses every object (a file stands where its folder must be): the training ends, definitely.
    (context.settings.data_dir / "storage").write_text("in the way")
    new_model(context)
    assert run_training("m", context) is ModelStatus.FAILED
    model = context.store.models.get("m")
    assert model.error.code is FailureCode.UNKNOWN and "quote incident" in model.error.message
    assert model.artifact is None and not context.artifact_dir("m", 1).exists()  # nothing left on this host


@pytest.mark.slow
def test_two_live_attempts_racing_the_replaced_one_never_writes_over_the_newer(
    tmp_path: Path, database_url: str, weights_dir: Path
) -> None:
    """The first attempt's worker lost its lease but still runs when a second worker takes the model over: from then
    on the store holds only the second attempt's progress and bill, the first stops within a poll without writing,
    and the final state and bill are the second's. On SQLite and PostgreSQL, each attempt with its own connections."""
    first = make_context(tmp_path, database_url)
    shutil.copytree(weights_dir, first.weights_dir)  # converted once per session
    second = JobContext(first.settings)
    noise = shapes_dataset(tmp_path / "datasets" / "noise", classes=2, per_class=4, learnable=False)
    first.store.datasets.insert("noise", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(noise),), {}, Access()))
    # Noise is never learned perfectly: each attempt searches until it is stopped.
    first.store.models.insert("m", TrainingParameters("noise", 0.01, ModelKind.CLASSIFIER), None)
    ended: dict[str, tuple[ModelStatus | None, float]] = {}

    def attempt(name: str, context: JobContext) -> threading.Thread:
        def run() -> None:
            status = run_training("m", context)
            ended[name] = (status, time.monotonic())
        thread = threading.Thread(target=run, name=f"attempt-{name}")
        thread.start()
        return thread

    def samples_until(done: Callable[[Model], bool], seconds: float = 120) -> list[Model]:
        seen, deadline = [], time.monotonic() + seconds
        while not done(model := first.store.models.get("m")):
            seen.append(model)
            assert time.monotonic() < deadline, model
            time.sleep(0.02)
        return [*seen, model]

    def searching(attempt: int) -> Callable[[Model], bool]:
        return lambda m: m.progress.get("attempt") == attempt and m.progress.get("phase") == "searching"

    try:
        older = attempt("older", first)
        samples_until(searching(1))  # the first attempt trains and bills
        newer = attempt("newer", second)
        seen = samples_until(searching(2))
        older.join(30)
        seen += samples_until(lambda m: "older" in ended)  # attempt 1 has stopped, attempt 2 still runs
        first.store.models.move("m", ModelStatus.TRAINING, ModelStatus.CANCELLING)  # to end attempt 2 soon
        cancelled = time.monotonic()
        newer.join(60)
        final = first.store.models.get("m")
    finally:
        first.store.models.move("m", ModelStatus.TRAINING, ModelStatus.CANCELLING)
        for thread in threading.enumerate():
            if thread.name.startswith("attempt-"):
                thread.join(60)
        second.close()
        first.close()
    assert ended["older"][0] is None and ended["older"][1] < cancelled  # replaced: it stopped, writing nothing
    assert ended["newer"][0] is ModelStatus.CANCELLED
    taken_over = next(k for k, m in enumerate(seen) if m.attempt == 2)
    after = seen[taken_over:]
    assert all(m.attempt == 2 and m.progress["attempt"] == 2 for m in after), [m.progress for m in after]
    bills = [m.billed_seconds for m in after]
    assert bills == sorted(bills), bills  # one attempt's bill, growing: never the other's in between
    assert (final.status, final.attempt, final.progress["attempt"]) == (ModelStatus.CANCELLED, 2, 2)
    assert bills[-1] <= final.billed_seconds <= 36
