"""A linear head on frozen features: L2-regularised logistic regression (scikit-learn, fitted to convergence), so
that many recipes can be tried within a small budget. Multilabel data gets one binary regression per tag."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from torch import nn

_ABSENT = -1e4  # the bias of a class that a fold has no image of: never predicted


@dataclass(frozen=True)
class HeadRecipe:
    c: float  # inverse strength of the L2 penalty
    balanced: bool = True  # weight classes by inverse frequency (imbalance handling)
    max_iter: int = 1000


@dataclass
class FittedHead:
    weight: np.ndarray  # (classes, features)
    bias: np.ndarray  # (classes,)

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weight.T + self.bias

    def exported(self) -> nn.Linear:
        layer = nn.Linear(self.weight.shape[1], self.weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(self.weight).float())
            layer.bias.copy_(torch.from_numpy(self.bias).float())
        return layer


def fit_head(
    features: np.ndarray, targets: np.ndarray, num_classes: int, recipe: HeadRecipe, *, multilabel: bool = False,
    seed: int = 0,
) -> FittedHead:
    weight = np.zeros((num_classes, features.shape[1]))
    bias = np.full(num_classes, _ABSENT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a recipe that has not converged simply scores lower
        if multilabel:
            for c in range(num_classes):
                column = targets[:, c]
                if column.min() == column.max():  # a tag always or never present in this fold
                    bias[c] = -_ABSENT if column[0] else _ABSENT
                    continue
                model = _regression(recipe, seed).fit(features, column)
                weight[c], bias[c] = model.coef_[0], model.intercept_[0]
        else:
            present = np.unique(targets)
            if present.size == 1:
                bias[present[0]] = 0.0
            else:
                model = _regression(recipe, seed).fit(features, targets)
                rows = model.classes_.astype(int)
                if rows.size == 2:  # scikit-learn's binary form: one row for the second class
                    weight[rows[1]], bias[rows[1]] = model.coef_[0], model.intercept_[0]
                    bias[rows[0]] = 0.0
                else:
                    weight[rows], bias[rows] = model.coef_, model.intercept_
    if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
        raise FloatingPointError("the head's weights are not finite")
    return FittedHead(weight, bias)


def _regression(recipe: HeadRecipe, seed: int) -> LogisticRegression:
    return LogisticRegression(
        C=recipe.c, class_weight="balanced" if recipe.balanced else None, max_iter=recipe.max_iter, random_state=seed
    )
