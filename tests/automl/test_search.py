"""How the search's candidates become the served ensemble: members weighted by evidence, and the prior (the standard
probe of every backbone) kept unless the validation images show the searched ensemble better beyond their noise."""

from __future__ import annotations

import numpy as np
import pytest

from tailor.automl.backbones import get_backbone
from tailor.automl.budget import BudgetLedger
from tailor.automl.finetune import Adaptation, FineTuneRecipe
from tailor.automl.heads import HeadKind, HeadRecipe
from tailor.automl.search import STANDARD_C, Candidate, Labels, Search, evidence_weights

CLASSES = 3
BACKBONES = [get_backbone(name) for name in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")]


def losses(mean: float, n: int, seed: int, spread: float = 0.3) -> np.ndarray:
    return np.abs(np.random.default_rng(seed).normal(mean, spread, n))


def test_members_that_validation_cannot_tell_apart_weigh_the_same() -> None:
    weights = evidence_weights([losses(0.5, 6, 1), losses(0.55, 6, 2), losses(0.6, 6, 3)])
    assert weights.sum() == pytest.approx(1.0)
    assert weights == pytest.approx(np.full(3, 1 / 3))  # six images say nothing beyond their noise


def test_a_member_clearly_weaker_on_many_images_fades_out() -> None:
    strong = losses(0.3, 400, 1)
    close = strong + np.random.default_rng(3).normal(0.02, 0.5, 400)  # a little worse, well within the noise
    weights = evidence_weights([strong, close, strong + losses(0.6, 400, 2)])
    assert weights[2] < 0.01  # worse on 400 images by far more than the noise
    assert weights[1] == pytest.approx(weights[0])  # a difference within the noise costs no weight


def test_a_member_weaker_just_beyond_the_noise_loses_part_of_its_weight() -> None:
    best = losses(0.4, 200, 1)
    differences = np.random.default_rng(5).normal(0.0, 0.5, 200)
    differences += 2.5 * differences.std(ddof=1) / np.sqrt(200) - differences.mean()  # z = 2.5 exactly
    weights = evidence_weights([best, best + differences])
    assert 0.3 * weights[0] < weights[1] < weights[0]  # exp(-(0.85 / 2)^2 / 2) = 0.91 of the best's


def probabilities(targets: np.ndarray, right: float, seed: int) -> np.ndarray:
    """Out-of-fold probabilities giving each image's true class `right` on average (noisy)."""
    rng = np.random.default_rng(seed)
    p = np.clip(rng.normal(right, 0.25, len(targets)), 0.05, 0.95)
    scores = np.tile(((1 - p) / (CLASSES - 1))[:, None], (1, CLASSES))
    scores[np.arange(len(targets)), targets] = p
    return scores


def candidate(search: Search, backbone, scores: np.ndarray, *, standard: bool, trial: int) -> Candidate:
    size = backbone.input_size if standard else 160
    head = search.prior if standard else HeadRecipe(c=0.01)
    tuned = None if standard else FineTuneRecipe(Adaptation.LAST_STAGES, 1e-3, 1e-3, 4, 0.5, 0.1)
    return Candidate(search.score_of(scores), backbone, size, head, scores, trial, tuned)


def search_over(n_per_class: int) -> tuple[Search, np.ndarray]:
    targets = np.repeat(np.arange(CLASSES), n_per_class)
    labels = Labels(np.arange(len(targets)), targets, tuple("abc"), False)
    folds = [(np.array([], dtype=int), np.arange(len(targets)))]
    search = Search(
        labels=labels, images=[], cache=None, backbones=BACKBONES, ledger=BudgetLedger(10.0), folds=folds,  # type: ignore[arg-type]
        weights_dir=None, device=None, seed=0, patience=8, should_stop=lambda: False, on_progress=lambda p: None,  # type: ignore[arg-type]
    )
    return search, targets


@pytest.mark.parametrize("searched_right", [0.62, 0.70])
def test_with_few_images_a_slightly_better_search_falls_back_to_the_prior(searched_right: float) -> None:
    search, targets = search_over(2)  # 6 validated images
    for k, backbone in enumerate(BACKBONES):
        search.candidates.append(candidate(search, backbone, probabilities(targets, 0.6, k), standard=True, trial=k))
        search.candidates.append(
            candidate(search, backbone, probabilities(targets, searched_right, 10 + k), standard=False, trial=10 + k)
        )
    members, weights = search.ensemble()
    assert all(search.standard(m) for m in members) and len(members) == len(BACKBONES)
    assert weights.sum() == pytest.approx(1.0)


def test_with_many_images_a_clearly_better_search_is_kept() -> None:
    search, targets = search_over(100)  # 300 validated images
    for k, backbone in enumerate(BACKBONES):
        search.candidates.append(candidate(search, backbone, probabilities(targets, 0.5, k), standard=True, trial=k))
        search.candidates.append(
            candidate(search, backbone, probabilities(targets, 0.8, 10 + k), standard=False, trial=10 + k)
        )
    members, weights = search.ensemble()
    assert not any(search.standard(m) for m in members)
    assert weights.sum() == pytest.approx(1.0)


def test_the_prior_is_prototypes_at_two_images_a_class_and_regressions_above() -> None:
    assert search_over(2)[0].prior.kind is HeadKind.PROTOTYPE
    assert search_over(3)[0].prior.kind is HeadKind.LOGISTIC
    assert search_over(3)[0].prior.c == STANDARD_C
