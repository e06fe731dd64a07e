"""A worker joining another's detector training (automl/joining.py): it runs exploring trials of the host's study on
its own device, each within the exploration's share of the budget that every participant charges together, and
leaves the runs it explored (weights, optimiser and schedule, to be continued) for the host, which continues the
best of all of them as if it had explored it itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import optuna
import torch

from ..backbones import available_backbones
from ..budget import BudgetLedger
from ..devices import default_device, torch_device_name
from ..images import DETECTION_KEEP_SIDE, load_images
from ..joining import JoinRequest, JoinResult, Objective, Participant, take_part
from ..training import TrainingRequest
from .data import targets_of
from .fit import DetectionRecipe
from .training import _Explored, _on_cpu, _Training, classes_of


def join_exploration(request: JoinRequest) -> JoinResult:
    """Run exploring trials of the detector study `request.study_name` while its exploration lasts (see
    join_training)."""

    def prepare(setup: dict[str, Any], participant: Participant) -> Objective | str:
        dataset = request.dataset
        class_names, remap = classes_of(dataset)
        backbones = {b.name: b for b in available_backbones(request.weights_dir) if b.name in setup["backbones"]}
        if sorted(backbones) != setup["backbones"]:
            return f"it has the backbones {sorted(backbones)}, the training uses {setup['backbones']}"
        if len(dataset.image_urls) != setup["images"] or list(class_names) != setup["classes"]:
            return (f"it reads {len(dataset.image_urls)} images of {len(class_names)} classes, the host "
                    f"{setup['images']} of {len(setup['classes'])}")
        images = load_images(dataset.image_urls, request.fetch, keep_side=DETECTION_KEEP_SIDE)
        device = request.device or default_device()
        trained = TrainingRequest(
            dataset, request.fetch, setup["budgetSeconds"], request.weights_dir, Path(os.devnull),
            device=device, device_factor=setup["deviceFactor"], seed=setup["seed"],
            study_storage=request.study_storage, should_stop=participant.should_stop,
        )
        training = _Training(trained, class_names, backbones, images, targets_of(dataset, images, remap),
                             (device,), keep_last=setup["keepLast"])
        if len(training.train) != setup["train"]:
            return "its split of the images differs from the host's"
        training.ledger = participant.ledger  # its trials read the exploration's end in every participant's seconds
        training._probed_with = DetectionRecipe(**setup["first"])  # sizes timed on this device as trials need them
        if torch.device(torch_device_name(device)).type == "cuda":
            torch.cuda.set_device(torch.device(device))

        def objective(trial: optuna.Trial) -> tuple[float, _Explored | None]:
            recipe, fitted = training.exploring(trial, has_model=True)  # within the exploration's share
            if fitted is None:
                return 0.0, None
            fitted = _on_cpu(fitted)
            if fitted.last is not None and fitted.best_epoch == fitted.epochs_done:
                fitted.state = None  # the same weights as `last`: sent once
            return fitted.score, _Explored(recipe, fitted)

        return objective

    exploration: list[float] = []

    def exploring(ledger: BudgetLedger) -> bool:  # the host's stopping rule, on every participant's seconds
        return ledger.used_seconds < exploration[0] * 0.9

    def sampler_of(setup: dict[str, Any]) -> optuna.samplers.BaseSampler:
        exploration.append(setup["exploreSeconds"])
        return optuna.samplers.TPESampler(constant_liar=True)

    return take_part(request, prepare, sampler_of, exploring)
