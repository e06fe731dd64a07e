"""Training one detection recipe: AdamW with a cosine schedule over the epochs the recipe asks for, a validation
mAP@50 after every epoch (so that the search can prune), and the best epoch kept when the budget ends the run."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from PIL import Image
from torchvision.models.detection import FCOS

from ...reports import DetectionPredictions
from ..budget import BudgetExhausted
from ..detection_metrics import detection_performance
from ..devices import autocast, onto
from .data import Targets, augmentation, sample


@dataclass(frozen=True)
class DetectionRecipe:
    backbone: str = "efficientnet_lite0"
    min_size: int = 320  # the shorter side images are resized to (the longer at most MAX_SIZE_FACTOR times that)
    lr: float = 3e-4
    weight_decay: float = 1e-4
    epochs: int = 24
    augment: int = 1  # augmentation strength, see data.augmentation
    batch_size: int = 4

    def to_json(self) -> dict[str, object]:
        return {"backbone": self.backbone, "minSize": self.min_size, "lr": self.lr, "weightDecay": self.weight_decay,
                "epochs": self.epochs, "augment": self.augment, "batchSize": self.batch_size}


# The detector with default hyperparameters: the fixed recipe the benchmark compares the search against, and the
# search's first trial.
DEFAULT_RECIPE = DetectionRecipe()
MAX_SIZE_FACTOR = 5 / 3
# The backbone starts from ImageNet weights and moves at the recipe's rate; the pyramid and the head start from
# random ones and learn at ten times that. At one rate for all, the few hundred steps of a budget of minutes left
# the boxes small and of one size whatever the object's (measured: IoU 0.5-0.7 on drawn shapes; at ten times, 0.85).
NEW_LAYERS_LR_SCALE = 10.0


@dataclass
class Resumable:
    """Where a run stopped: enough to continue it as if it had never stopped (the search continues its best
    exploring run instead of restarting it, which with a fresh optimiser at full rate undoes what it learned)."""

    state: dict[str, torch.Tensor]  # the network's weights after its last epoch
    optimiser: dict
    epochs_done: int
    rng: np.random.Generator


@dataclass
class Fitted:
    state: dict[str, torch.Tensor]  # the network's weights at its best epoch
    score: float  # validation mAP@50 of that epoch
    epochs_done: int
    best_epoch: int
    seconds_per_epoch: float
    last: Resumable | None = None  # None when the budget stopped it mid-epoch


def learning_rate_factor(step: int, steps: int) -> float:
    """Linear warm-up, then cosine decay to zero at `steps`. (Decaying by the budget's clock as well, so that a run
    whose epochs cost more than estimated still ends at zero, was tried: with the few hundred steps of a CPU budget
    the lower rates cost more than the annealing gave: false boxes on empty backgrounds, and classes confused.)"""
    warmup = min(50, steps // 10)
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, steps - warmup))))


def fit(
    network: FCOS,
    images: list[Image.Image],
    targets: Targets,
    train: np.ndarray,
    valid: np.ndarray,
    recipe: DetectionRecipe,
    *,
    class_names: tuple[str, ...],
    device: torch.device,
    step: Callable[[], None],
    on_epoch: Callable[[int, float, float], None] = lambda epoch, score, seconds: None,
    seed: int = 0,
    stop_after: int | None = None,
    resume: Resumable | None = None,
    replan: Callable[[int, float], int] | None = None,
    keep_last: bool = False,
) -> Fitted:
    """Trains on a schedule of `recipe.epochs` epochs, stopping after `stop_after` of them (all by default);
    `resume` continues a run that stopped (the same network, whose weights it loads). `replan(epochs done, seconds
    an epoch)`, after every epoch, may move the schedule's end: the epochs a budget pays for are known only once one
    has been timed (estimates from one batch were off by up to 1.7x, either way: a run cut off before its learning
    rate decayed, or one that ended with a third of its budget unspent). `keep_last`: the model is the last epoch, not
    the best-scoring one (when the held-out images are too few to tell epochs apart).

    `step` runs before every batch (it raises to cancel, or BudgetExhausted: the best epoch so far is kept);
    `on_epoch(epoch, score, seconds)` may raise to stop (optuna.TrialPruned)."""
    rng = resume.rng if resume is not None else np.random.default_rng(seed)
    torch.manual_seed(seed)
    if resume is not None:
        network.load_state_dict(resume.state)
    network.to(device)
    parameters = [p for p in network.parameters() if p.requires_grad]
    pretrained = {id(p) for p in network.backbone.body.parameters()}
    groups = [{"params": [p for p in parameters if id(p) in pretrained], "scale": 1.0},
              {"params": [p for p in parameters if id(p) not in pretrained], "scale": NEW_LAYERS_LR_SCALE}]
    optimiser = torch.optim.AdamW(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if resume is not None:
        optimiser.load_state_dict(resume.optimiser)
    per_epoch = math.ceil(len(train) / recipe.batch_size)
    steps = max(1, recipe.epochs * per_epoch)
    first = resume.epochs_done if resume is not None else 0
    last = recipe.epochs if stop_after is None else min(recipe.epochs, first + stop_after)
    transform = augmentation(recipe.augment)
    best: Fitted | None = None
    began = time.perf_counter()
    epoch = first
    try:
        while epoch < last:
            epoch += 1
            network.train()
            order = rng.permutation(train)
            for k, start in enumerate(range(0, len(order), recipe.batch_size)):
                step()
                factor = learning_rate_factor((epoch - 1) * per_epoch + k, steps)
                for group in optimiser.param_groups:
                    group["lr"] = recipe.lr * group["scale"] * factor
                batch = [sample(images[r], targets.boxes[r], targets.labels[r], transform) for r in order[start:start + recipe.batch_size]]
                inputs = [onto(image, device) for image, _ in batch]
                wanted = [{k: v.to(device) for k, v in target.items()} for _, target in batch]
                with autocast(device):
                    losses = network(inputs, wanted)
                loss = sum(part.float() for part in losses.values())
                if not math.isfinite(loss.detach().item()):
                    raise FloatingPointError("the training loss is not finite")
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, 10.0)
                optimiser.step()
            score = validation_map50(network, images, targets, valid, class_names, device, step)
            seconds = (time.perf_counter() - began) / (epoch - first)
            # On a tie the later epoch: a few held-out images reach mAP 1.0 within epochs, long before the boxes are
            # as tight as they will get (keeping the first epoch at 1.0 kept a detector of 2 epochs out of 16).
            if best is None or score >= best.score or keep_last:
                best = Fitted(_cpu_state(network), score, epoch, epoch, seconds)
            best.epochs_done, best.seconds_per_epoch = epoch, seconds
            on_epoch(epoch, score, seconds)
            if replan is not None and stop_after is None:
                last = max(epoch, replan(epoch, seconds))
                steps = max(1, last * per_epoch)
    except BudgetExhausted:
        if best is None:
            raise
        return best
    assert best is not None
    best.last = Resumable(_cpu_state(network), optimiser.state_dict(), last, rng)
    return best


def detect(network: FCOS, images: list[Image.Image], device: torch.device, step: Callable[[], None] = lambda: None,
           batch_size: int = 8) -> list[dict[str, np.ndarray]]:
    """Per image: boxes (xyxy pixels of that image), labels, scores, as numpy arrays."""
    from torchvision.transforms.v2.functional import pil_to_tensor, to_dtype

    network.eval()
    found = []
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(images), batch_size):
            step()
            inputs = [onto(to_dtype(pil_to_tensor(image), torch.float32, scale=True), device)
                      for image in images[start:start + batch_size]]
            for output in network(inputs):
                found.append({k: (v if k == "labels" else v.float()).cpu().numpy() for k, v in output.items()})
    return found


def validation_map50(network: FCOS, images: list[Image.Image], targets: Targets, rows: np.ndarray,
                     class_names: tuple[str, ...], device: torch.device, step: Callable[[], None]) -> float:
    if len(rows) == 0:
        return 0.0
    found = detect(network, [images[r] for r in rows], device, step)
    predictions = predictions_of(found, [images[r] for r in rows], targets, rows, class_names)
    # null (None) when no validation image has a true box
    return float(cast("float | None", detection_performance(predictions)["meanAveragePrecision50"]) or 0.0)


def predictions_of(found, images, targets: Targets, rows: np.ndarray, class_names, names=None) -> DetectionPredictions:
    return DetectionPredictions(
        class_names=class_names,
        image_names=tuple(names) if names is not None else tuple(str(r) for r in rows.tolist()),
        image_sizes=tuple(image.size for image in images),
        true_boxes=tuple(targets.boxes[r] for r in rows.tolist()),
        true_labels=tuple(targets.labels[r] for r in rows.tolist()),
        boxes=tuple(f["boxes"] for f in found),
        labels=tuple(f["labels"] for f in found),
        scores=tuple(f["scores"] for f in found),
    )


def _cpu_state(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in network.state_dict().items()}
