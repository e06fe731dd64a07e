"""Fine-tuning a backbone with its linear head: the last stages or the whole network, with augmentation, label
smoothing and class weights, one epoch at a time so that the search can prune between epochs.

The head starts from the linear probe fitted on the frozen features (LP-FT, Kumar et al., 2022): training then
starts from the probe's accuracy, and a random head's large early gradients do not wreck the pretrained features.
A run stopped by the budget keeps its best epoch so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.ops import roi_align

from .artifact import Classifier
from .backbones import Preprocess
from .budget import BudgetExhausted
from .devices import autocast, fixed_sizes, onto
from .features import BATCH
from .inputs import resize_and_crop


class Adaptation(str, Enum):
    LINEAR_PROBE = "linearProbe"  # frozen features, logistic regression head (heads.py)
    LAST_STAGES = "lastStages"  # the last two stages, the final convolution and the head are trained
    FULL = "full"  # every weight is trained


@dataclass(frozen=True)
class FineTuneRecipe:
    adaptation: Adaptation
    lr: float
    weight_decay: float
    epochs: int
    augment: float  # 0 (none) .. 1 (strong): crop scale, flips, colour jitter
    label_smoothing: float
    batch_size: int = 16


@dataclass
class FineTuned:
    network: Classifier  # the best epoch's weights (on the CPU)
    probabilities: np.ndarray  # of the validation rows, from that epoch
    epochs_done: int
    complete: bool  # False when the budget stopped it
    train_images_per_second: float


_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R 601, as Pillow and torchvision use


class Crops:
    """Every image resized (shorter side) and centre-cropped to the preprocessing's resize size once, as uint8:
    augmentation crops from there, and evaluation takes the centre, as the served model's preprocessing does."""

    def __init__(self, images: list[Image.Image], preprocess: Preprocess):
        self.preprocess = preprocess
        side = preprocess.resize_size
        square = [np.asarray(resize_and_crop(image, side, side, preprocess.interpolation)) for image in images]
        self.pixels = torch.from_numpy(np.stack(square)).permute(0, 3, 1, 2).contiguous()
        self._mean = torch.tensor(preprocess.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(preprocess.std).view(1, 3, 1, 1)

    def train_batch(self, rows: np.ndarray, augment: float, rng: np.random.Generator) -> torch.Tensor:
        """Random resized crops (scale down to 1 - 0.65 x augment of the area, aspect ratio within 3/4..4/3 at full
        strength), horizontal flips and brightness/contrast/saturation jitter of up to 0.3 x augment: the whole
        batch at once (one roi_align for every crop), so that augmenting costs little next to a training step."""
        if augment <= 0:
            return self.eval_batch(rows)
        size, side, b = self.preprocess.input_size, self.pixels.shape[-1], len(rows)
        scale = rng.uniform(1.0 - 0.65 * augment, 1.0, b)
        ratio = np.exp(rng.uniform(np.log(1 - 0.25 * augment), np.log(1 + 0.33 * augment), b))
        w = np.minimum(side * np.sqrt(scale * ratio), side)
        h = np.minimum(side * np.sqrt(scale / ratio), side)
        x0, y0 = rng.uniform(0, side - w), rng.uniform(0, side - h)
        boxes = torch.tensor(np.stack([np.arange(b), x0, y0, x0 + w, y0 + h], axis=1), dtype=torch.float32)
        batch = roi_align(self.pixels[rows.tolist()].float(), boxes, (size, size), sampling_ratio=2, aligned=True)
        flip = torch.from_numpy(rng.random(b) < 0.5)
        batch[flip] = batch[flip].flip(-1)
        jitter = lambda: torch.from_numpy(1 + rng.uniform(-0.3, 0.3, b) * augment).float().view(b, 1, 1, 1)
        grey = (batch * _LUMA).sum(dim=1, keepdim=True)
        batch = grey + (batch - grey) * jitter()  # saturation
        batch = grey.mean(dim=(2, 3), keepdim=True) + (batch - grey.mean(dim=(2, 3), keepdim=True)) * jitter()
        batch = (batch * jitter()).clamp_(0, 255)  # brightness
        return self._normalise(batch)

    def eval_batch(self, rows: np.ndarray) -> torch.Tensor:
        size, side = self.preprocess.input_size, self.pixels.shape[-1]
        start = (side - size) // 2
        return self._normalise(self.pixels[rows.tolist(), :, start : start + size, start : start + size])

    def _normalise(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch.float() / 255 - self._mean) / self._std


def fine_tune(
    network: Classifier,
    crops: Crops,
    targets: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    recipe: FineTuneRecipe,
    *,
    multilabel: bool,
    device: torch.device,
    step: Callable[[], None],
    on_epoch: Callable[[int, np.ndarray], None] = lambda epoch, probabilities: None,
    seed: int = 0,
) -> FineTuned:
    """Train `network` (its head already fitted as a probe) on the `train` rows for recipe.epochs epochs, reporting
    the `valid` rows' probabilities after each (on_epoch may raise to stop, e.g. optuna.TrialPruned). `step` runs
    before every batch: it raises to cancel, or BudgetExhausted, which ends the run with its best epoch so far."""
    generator = np.random.default_rng(seed)
    torch.manual_seed(seed)
    # Channels-last on every device: oneDNN's CPU convolutions run these networks about 1.4x faster that way too.
    # torch's stubs leave memory_format out of .to(device, ...), which Module.to accepts (it parses as Tensor.to does)
    network = network.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    trainable = _trainable(network, recipe.adaptation)
    optimiser = torch.optim.AdamW(trainable, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = math.ceil(len(train) / recipe.batch_size)
    # Cosine decay without warm-up: the head starts from a fitted probe, not at random.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, recipe.epochs * steps_per_epoch))
    loss_of = _loss(targets[train], network.head.out_features, multilabel, recipe.label_smoothing, device)
    best: tuple[float, int, dict[str, torch.Tensor], np.ndarray] | None = None  # kept in case the budget ends it
    trained_images, training_seconds, epoch = 0, 0.0, 0
    complete = False
    with fixed_sizes(device):  # every batch is crops of one size
        try:
            for epoch in range(1, recipe.epochs + 1):
                _train_mode(network)
                order = generator.permutation(train)
                for start in range(0, len(order), recipe.batch_size):
                    rows = order[start : start + recipe.batch_size]
                    if len(rows) < 2 and len(order) > 1:
                        continue  # a batch of one breaks batch-norm statistics
                    step()
                    began = time.perf_counter()
                    images = onto(crops.train_batch(rows, recipe.augment, generator), device)
                    with autocast(device):
                        loss = loss_of(network(images).float(), torch.as_tensor(targets[rows], device=device))
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    schedule.step()
                    if not math.isfinite(loss.item()):
                        raise FloatingPointError("the training loss is not finite")
                    training_seconds += time.perf_counter() - began
                    trained_images += len(rows)
                probabilities = predict(network, crops, valid, multilabel=multilabel, device=device, step=step)
                quality = _quality(probabilities, targets[valid], multilabel) if len(valid) else float(epoch)
                if best is None or quality >= best[0]:
                    best = (quality, epoch, _cpu_state(network), probabilities)
                on_epoch(epoch, probabilities)
            complete = True
        except BudgetExhausted:
            if best is None:
                raise
    assert best is not None
    if complete:  # the schedule's last epoch, not the best one: choosing an epoch on these rows would flatter them
        best = (0.0, epoch, _cpu_state(network), probabilities)
    network.load_state_dict(best[2])
    rate = trained_images / training_seconds if training_seconds else 0.0
    return FineTuned(network.cpu().eval(), best[3], best[1], complete, rate)


def predict(
    network: Classifier, crops: Crops, rows: np.ndarray, *, multilabel: bool, device: torch.device,
    step: Callable[[], None] = lambda: None,
) -> np.ndarray:
    network.eval()
    parts = []
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(rows), BATCH):
            step()
            images = onto(crops.eval_batch(rows[start : start + BATCH]), device)
            logits = network(images).double()  # float32 softmax rows miss 1 by more than scikit-learn allows
            parts.append((torch.sigmoid(logits) if multilabel else torch.softmax(logits, 1)).cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, network.head.out_features))


def _trainable(network: Classifier, adaptation: Adaptation) -> list[nn.Parameter]:
    """Freeze what the adaptation keeps; return what it trains."""
    for parameter in network.parameters():
        parameter.requires_grad_(adaptation is Adaptation.FULL)
    if adaptation is Adaptation.LAST_STAGES:
        backbone = network.backbone
        blocks = getattr(backbone, "blocks", None)
        if isinstance(blocks, nn.Sequential) and len(blocks) >= 2:
            # EfficientNet-style: the last two stages and everything after them (final convolution, norm).
            after = False
            for name, child in backbone.named_children():
                if name == "blocks":
                    after = True
                    for stage in list(blocks)[-2:]:
                        stage.requires_grad_(True)
                elif after:
                    child.requires_grad_(True)
        else:  # another architecture: the last third of its tensors, in definition order
            parameters = list(backbone.parameters())
            for parameter in parameters[len(parameters) * 2 // 3 :]:
                parameter.requires_grad_(True)
    network.head.requires_grad_(True)
    return [p for p in network.parameters() if p.requires_grad]


def _train_mode(network: nn.Module) -> None:
    """Training mode, except for batch norms whose weights are frozen: their running statistics stay ImageNet's."""
    network.train()
    for module in network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
            p.requires_grad for p in module.parameters(recurse=False)
        ):
            module.eval()


def _loss(train_targets: np.ndarray, classes: int, multilabel: bool, smoothing: float, device: torch.device):
    if multilabel:
        positives = train_targets.sum(axis=0)
        pos_weight = torch.tensor(
            np.clip((len(train_targets) - positives) / np.maximum(positives, 1), 0.1, 10.0), dtype=torch.float32,
            device=device,
        )
        criterion: nn.Module = nn.BCEWithLogitsLoss(pos_weight=pos_weight)  # or CrossEntropyLoss, below
        return lambda logits, y: criterion(logits, y.float() * (1 - smoothing) + smoothing / 2)
    counts = np.bincount(train_targets, minlength=classes).astype(np.float64)
    # Balanced class weights (scikit-learn's rule), as the probe uses: a large class cannot drown the small ones.
    weights = np.where(counts > 0, len(train_targets) / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)
    criterion = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device),
                                    label_smoothing=smoothing)
    return lambda logits, y: criterion(logits, y.long())


def _quality(probabilities: np.ndarray, targets: np.ndarray, multilabel: bool) -> float:
    if multilabel:
        return float(((probabilities >= 0.5) == targets.astype(bool)).mean())
    return float((probabilities.argmax(1) == targets).mean())


def _cpu_state(network: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in network.state_dict().items()}

