"""One training on several devices: CPU slots stand for GPUs here. Its trials run side by side, each on its own trial
process, and the bill (device-seconds: two devices spend the budget twice as fast) stays within the budget."""

from __future__ import annotations

import json
import os
import signal
import time
from contextlib import nullcontext
from pathlib import Path

import optuna
import pytest

from tailor.automl import TrainingCancelled, TrainingRequest, train_classifier
from tailor.automl.devices import DevicePool, autocast, fixed_sizes, onto, resolve_devices, serving_device
from tailor.automl.parallel import Relay, TrialProcessDied, TrialProcesses
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, Purpose, validate_coco
from tests.images import shapes_dataset

READER = BlobReader(BlobPolicy.local_user())


def test_device_names_resolve_to_what_the_machine_has() -> None:
    assert resolve_devices([], cuda_devices=2) == ()
    assert resolve_devices(["all"], cuda_devices=2) == ("cuda:0", "cuda:1")
    assert resolve_devices(["all"], cuda_devices=0) == ("cpu:0",)
    assert resolve_devices(["cuda:1", " CUDA:0 "], cuda_devices=2) == ("cuda:1", "cuda:0")
    assert resolve_devices(["cpu:0", "cpu:1"], cuda_devices=0) == ("cpu:0", "cpu:1")
    assert resolve_devices(["cpu"], cuda_devices=0) == ("cpu:0",)
    for names, message in [
        (["cuda:2"], "this machine has cuda:0 to cuda:1"),
        (["tpu:0"], "unknown device 'tpu:0'"),
        (["cpu:0", "cuda:0"], "of one kind"),
        (["cpu:1", "cpu:1"], "named twice"),
    ]:
        with pytest.raises(ValueError, match=message):
            resolve_devices(names, cuda_devices=2)


def test_trained_models_run_on_the_first_device_named_else_the_default() -> None:
    import torch

    assert serving_device(["cpu:1", "cpu:0"]) == "cpu"  # a CPU slot is the CPU
    assert serving_device([]) == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda:1': this machine has no CUDA device"):
            serving_device(["cuda:1"])


def test_networks_run_in_bfloat16_on_a_gpu_and_in_float32_on_the_cpu() -> None:
    import torch

    cpu = torch.device("cpu")
    with autocast(cpu), fixed_sizes(cpu):
        assert (torch.ones(2, 3) @ torch.ones(3, 2)).dtype == torch.float32
    with pytest.warns(UserWarning) if not torch.cuda.is_available() else nullcontext():
        assert autocast(torch.device("cuda")).fast_dtype == torch.bfloat16
    batch = onto(torch.zeros(2, 3, 8, 8), cpu)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert onto(torch.zeros(3, 8, 8), cpu).is_contiguous()  # one image (detection): as it was


def test_a_worker_lends_each_training_its_share_of_the_free_devices() -> None:
    pool = DevicePool(("cuda:0", "cuda:1", "cuda:2", "cuda:3"), trainings=2)
    with pool.lend() as first, pool.lend() as second:
        assert first == ("cuda:0", "cuda:1") and second == ("cuda:2", "cuda:3")
        with pool.lend() as third:  # more trainings than planned: the least used device is shared
            assert third == ("cuda:0",)
    with pool.lend() as again:
        assert again == ("cuda:0", "cuda:1")
    with DevicePool(("cuda:0", "cuda:1"), trainings=1).lend() as everything:
        assert everything == ("cuda:0", "cuda:1")
    with DevicePool((), trainings=3).lend() as default:
        assert default == ()  # the default device, as before devices could be named
    lanes = DevicePool(("cpu:0", "cpu:1", "cpu:2", "cpu:3"), trainings=2)  # the in-process runner's job slots
    with lanes.lend(0) as zero, lanes.lend(1) as one:
        assert zero == ("cpu:0", "cpu:1") and one == ("cpu:2", "cpu:3")


class _Trial:
    """What the coordinator's side answers for: an Optuna trial's calls."""

    def __init__(self, number: int, then: str) -> None:
        self.number, self.then = number, then
        self.reported: list[tuple[float, int]] = []

    def suggest_categorical(self, name: str, choices: list[str]) -> str:
        assert self.then in choices
        return self.then

    def report(self, value: float, step: int) -> None:
        self.reported.append((value, step))


def _start(setup: str, device: str, slot: int, relay: Relay, should_stop):
    def run_trial(trial):
        then = trial.suggest_categorical("then", ["return", "prune", "die"])
        trial.report(0.5, step=1)
        if then == "prune":
            raise optuna.TrialPruned("pruned there")
        if then == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        return {"setup": setup, "device": device, "slot": slot, "trial": trial.number}

    return run_trial


@pytest.mark.slow
def test_a_trial_process_runs_the_coordinators_trial_and_its_death_is_an_error() -> None:
    processes = TrialProcesses(["cpu:0"], _start, "set up")
    try:
        trial = _Trial(7, "return")
        assert processes.run(0, trial, {}) == {"setup": "set up", "device": "cpu:0", "slot": 0, "trial": 7}
        assert trial.reported == [(0.5, 1)]
        with pytest.raises(optuna.TrialPruned, match="pruned there"):
            processes.run(0, _Trial(8, "prune"), {})
        with pytest.raises(TrialProcessDied, match="cpu:0 ended during trial 9"):
            processes.run(0, _Trial(9, "die"), {})
    finally:
        processes.close()


def test_trials_on_two_cpu_slots_run_side_by_side_and_the_bill_stays_within_the_budget(
    tmp_path: Path, weights_dir: Path
) -> None:
    path = shapes_dataset(tmp_path / "data", classes=3, per_class=4)
    coco = json.loads(path.read_text())
    # Two wrong labels: no score comes near perfect, and the budget ends the search.
    coco["annotations"][0]["category_id"], coco["annotations"][4]["category_id"] = 2, 3
    path.write_text(json.dumps(coco))
    report = validate_coco([READER.annotation_file(str(path), max_bytes=10**7)], AnnotationKind.CLASSIFICATION,
                           Purpose.TRAINING)
    storage, budget = f"sqlite:///{tmp_path / 'study.db'}", 40.0  # the embedded default's study storage: SQLite
    result = train_classifier(TrainingRequest(
        report.dataset, READER.image_fetcher(Access()), budget, weights_dir, tmp_path / "model",
        devices=("cpu:0", "cpu:1"), study_storage=storage, study_name="search", patience=10**6,
    ))
    search = json.loads((result.artifact_dir / "config.json").read_text())["search"]
    assert search["devices"] == 2 and result.best_score > 0.5
    assert 0.5 * budget < result.billed_seconds <= budget
    trials = [t for t in optuna.load_study(study_name="search", storage=storage).trials if t.datetime_complete]
    assert len(trials) == result.trials
    overlapping = [(a.number, b.number) for a in trials for b in trials
                   if a.number < b.number and a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete]
    assert overlapping, [(t.number, t.datetime_start, t.datetime_complete) for t in trials]
    # Side by side: the trials took longer, added up, than the search from its first start to its last end.
    busy = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials)
    span = (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()
    assert busy > 1.2 * span, (busy, span)


def test_a_cancel_reaches_the_trials_on_every_device(tmp_path: Path, weights_dir: Path) -> None:
    report = validate_coco([READER.annotation_file(str(shapes_dataset(tmp_path / "data", classes=3, per_class=4,
                                                                      learnable=False)), max_bytes=10**7)],
                           AnnotationKind.CLASSIFICATION, Purpose.TRAINING)
    progress: list[dict] = []
    asked: list[float] = []

    def cancel_once_a_trial_is_done() -> bool:
        if not asked and any(p["bestValidationScore"] is not None for p in progress):
            asked.append(time.monotonic())
        return bool(asked)

    budget = 60.0
    with pytest.raises(TrainingCancelled) as info:
        train_classifier(TrainingRequest(
            report.dataset, READER.image_fetcher(Access()), budget, weights_dir, tmp_path / "model",
            devices=("cpu:0", "cpu:1"), patience=10**6, on_progress=progress.append,
            should_stop=cancel_once_a_trial_is_done,
        ))
    assert asked and time.monotonic() - asked[0] < 10  # every trial process stopped at its next step
    assert 0 < info.value.billed_seconds < budget
    assert not (tmp_path / "model").exists()


def test_a_budget_too_small_to_share_runs_on_one_device(tmp_path: Path, weights_dir: Path) -> None:
    report = validate_coco([READER.annotation_file(str(shapes_dataset(tmp_path / "data", classes=2, per_class=2)),
                                                   max_bytes=10**7)], AnnotationKind.CLASSIFICATION, Purpose.TRAINING)
    result = train_classifier(TrainingRequest(report.dataset, READER.image_fetcher(Access()), 6.0, weights_dir,
                                              tmp_path / "model", devices=("cpu:0", "cpu:1")))
    assert json.loads((result.artifact_dir / "config.json").read_text())["search"]["devices"] == 1
    assert result.billed_seconds <= 6.0
