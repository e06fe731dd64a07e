"""Probe heads: the prototype head, a linear layer, ranks classes exactly as the nearest class mean by cosine
(SimpleShot's CL2N) does, and a class a fold has no image of is never predicted."""

from __future__ import annotations

import numpy as np

from tailor.automl.heads import HeadKind, HeadRecipe, fit_head


def nearest_mean_by_cosine(train: np.ndarray, targets: np.ndarray, test: np.ndarray, classes: int) -> np.ndarray:
    mean = train.mean(axis=0)
    unit = lambda a: (a - mean) / np.linalg.norm(a - mean, axis=1, keepdims=True)
    centroids = np.stack([unit(train)[targets == c].mean(axis=0) for c in range(classes)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    return (unit(test) @ centroids.T).argmax(axis=1)


def test_the_prototype_head_ranks_as_the_nearest_class_mean_by_cosine() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (4, 64))
    targets = np.repeat(np.arange(4), 2)
    train = centres[targets] + rng.normal(0, 1.5, (8, 64)) + 3.0  # an offset: centring matters
    test = centres[np.repeat(np.arange(4), 50)] * rng.uniform(0.2, 5.0, (200, 1)) + rng.normal(0, 1.5, (200, 64)) + 3.0
    head = fit_head(train, targets, 4, HeadRecipe(c=1.0, kind=HeadKind.PROTOTYPE))
    expected = nearest_mean_by_cosine(train, targets, test, 4)
    assert (head.logits(test).argmax(axis=1) == expected).all()
    layer = head.exported()
    assert layer.weight.shape == (4, 64)


def test_a_class_without_images_is_never_predicted_by_prototypes() -> None:
    rng = np.random.default_rng(1)
    train, targets = rng.normal(0, 1, (6, 16)), np.array([0, 0, 2, 2, 3, 3])
    head = fit_head(train, targets, 4, HeadRecipe(c=1.0, kind=HeadKind.PROTOTYPE))
    assert (head.logits(rng.normal(0, 1, (50, 16))).argmax(axis=1) != 1).all()


def test_multilabel_data_gets_regressions_even_when_prototypes_are_asked() -> None:
    rng = np.random.default_rng(2)
    train, targets = rng.normal(0, 1, (8, 16)), rng.integers(0, 2, (8, 3))
    targets[0], targets[1] = 1, 0  # every tag both present and absent
    head = fit_head(train, targets, 3, HeadRecipe(c=1.0, kind=HeadKind.PROTOTYPE), multilabel=True)
    assert np.isfinite(head.weight).all() and np.abs(head.weight).sum() > 0
