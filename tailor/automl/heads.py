"""A linear head on frozen features: trained full-batch in a few hundred fast steps, so that many recipes can be
tried within a small budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class HeadRecipe:
    lr: float
    weight_decay: float
    epochs: int
    label_smoothing: float = 0.0
    balanced: bool = True  # weight classes by inverse frequency (imbalance handling)


@dataclass
class FittedHead:
    layer: nn.Linear
    mean: np.ndarray  # feature centring and scaling, folded into the exported head
    scale: np.ndarray

    def logits(self, features: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy((features - self.mean) / self.scale).float()
            return self.layer(x).numpy()

    def exported(self) -> nn.Linear:
        """The same head taking raw (unstandardised) features: W' = W / s, b' = b - W' m."""
        weight = self.layer.weight.detach() / torch.from_numpy(self.scale).float()
        bias = self.layer.bias.detach() - weight @ torch.from_numpy(self.mean).float()
        layer = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        return layer


def fit_head(
    features: np.ndarray,
    targets: np.ndarray,
    num_classes: int,
    recipe: HeadRecipe,
    *,
    multilabel: bool = False,
    seed: int = 0,
    on_epoch: Callable[[int, FittedHead], bool] | None = None,
) -> FittedHead:
    """Train; `on_epoch(epoch, head)` is called every few epochs and may return False to stop early."""
    torch.manual_seed(seed)
    # Centred, and scaled by one number for all dimensions: per-dimension scaling would blow up the many
    # near-constant feature dimensions into noise as loud as the informative ones, which ruins small datasets.
    mean = features.mean(axis=0)
    scale = np.full(features.shape[1], features.std() + 1e-6, dtype=features.dtype)
    x = torch.from_numpy((features - mean) / scale).float()
    layer = nn.Linear(features.shape[1], num_classes)
    head = FittedHead(layer, mean, scale)
    optimiser = torch.optim.AdamW(layer.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, recipe.epochs))
    if multilabel:
        y = torch.from_numpy(targets).float()
        positives = y.sum(0).clamp(min=1)
        weight = ((len(y) - positives) / positives).clamp(max=50) if recipe.balanced else None
        loss_fn: nn.Module = nn.BCEWithLogitsLoss(pos_weight=weight)
    else:
        y = torch.from_numpy(targets).long()
        counts = torch.bincount(y, minlength=num_classes).float().clamp(min=1)
        weight = (counts.sum() / (num_classes * counts)) if recipe.balanced else None
        loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=recipe.label_smoothing)
    report_every = max(1, recipe.epochs // 10)
    for epoch in range(recipe.epochs):
        optimiser.zero_grad()
        loss = loss_fn(layer(x), y)
        if not torch.isfinite(loss):
            raise FloatingPointError("the loss is not finite")
        loss.backward()
        optimiser.step()
        schedule.step()
        if on_epoch is not None and (epoch + 1) % report_every == 0 and not on_epoch(epoch + 1, head):
            break
    return head
