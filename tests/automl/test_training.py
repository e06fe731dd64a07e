"""AutoML end to end on generated images, with real pretrained backbones, on the CPU: a model and honest metrics,
or an honest failure code; never more billed than the budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tailor.automl import TrainingCancelled, TrainingFailed, TrainingRequest, train_classifier
from tailor.automl.backbones import get_backbone
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, CocoDataset, Purpose, validate_coco
from tailor.models import FailureCode
from tests.images import shapes_dataset

READER = BlobReader(BlobPolicy.local_user())


def load(path: Path) -> CocoDataset:
    report = validate_coco([READER.annotation_file(str(path), max_bytes=10**7)], AnnotationKind.CLASSIFICATION, Purpose.TRAINING)
    assert report.valid, report.errors
    return report.dataset


def request(dataset: CocoDataset, weights_dir: Path, out: Path, budget: float = 60.0, **extra) -> TrainingRequest:
    return TrainingRequest(dataset, READER.image_fetcher(Access()), budget, weights_dir, out, **extra)


def test_learnable_shapes_give_a_model_metrics_and_an_artifact(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=3, per_class=6))
    progress: list[dict] = []
    result = train_classifier(request(dataset, weights_dir, tmp_path / "model", on_progress=progress.append))
    assert result.best_score >= 0.9
    assert 0 < result.billed_seconds <= 60.0
    performance = result.performance
    assert performance["accuracyTop1"] >= 0.9
    assert set(performance) == {"accuracyTop1", "accuracyTop5", "averagePrecision", "calibrationECE", "tagPerformance"}
    assert set(performance["tagPerformance"]) == {"class_0", "class_1", "class_2"}
    assert 0.0 <= performance["calibrationECE"] <= 1.0
    config = json.loads((result.artifact_dir / "config.json").read_text())
    assert config["class_names"] == ["class_0", "class_1", "class_2"] and config["multilabel"] is False
    weights = load_file(str(result.artifact_dir / "model.safetensors"))
    assert 1 <= len(config["members"]) <= 4
    for i, member in enumerate(config["members"]):
        assert weights[f"members.{i}.head.weight"].shape == (3, _feature_dim(member["backbone"]))
        assert member["preprocess"]["input_size"] == get_backbone(member["backbone"]).input_size
    assert sum(member["weight"] for member in config["members"]) == pytest.approx(1.0)
    assert progress and progress[-1]["phase"] == "succeeded" and progress[-1]["trialsDone"] == result.trials
    # The search says so before its first trial, which on a CPU computes features and is its longest step.
    assert progress[0]["phase"] == "searching" and progress[0]["trialsDone"] == 0


def _feature_dim(name: str) -> int:
    from tailor.automl.backbones import get_backbone

    return get_backbone(name).feature_dim


def test_two_images_per_class_is_enough(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=2, per_class=2))
    result = train_classifier(request(dataset, weights_dir, tmp_path / "model"))
    assert result.performance["accuracyTop1"] >= 0.5
    assert (result.artifact_dir / "model.safetensors").exists()


def test_multilabel_trains_per_tag_with_thresholds(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=3, per_class=6, multilabel=True))
    assert dataset.multilabel
    result = train_classifier(request(dataset, weights_dir, tmp_path / "model", budget=20.0, patience=3))
    config = json.loads((result.artifact_dir / "config.json").read_text())
    assert config["multilabel"] is True and len(config["thresholds"]) == 3
    assert result.performance["accuracyTop1"] >= 0.8 and result.billed_seconds <= 20.0


def test_a_budget_too_small_for_one_pass_is_refused_before_training(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=3, per_class=10))
    with pytest.raises(TrainingFailed) as info:
        train_classifier(request(dataset, weights_dir, tmp_path / "model", budget=0.5))
    assert info.value.code is FailureCode.NOT_ENOUGH_BUDGET
    assert "need at least" in info.value.message and "try timeBudgetInHours of at least" in info.value.message
    assert info.value.billed_seconds == 0.0
    assert not (tmp_path / "model").exists()


def test_labels_that_cannot_be_learned_fail_as_diverged(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=3, per_class=4, learnable=False))
    with pytest.raises(TrainingFailed) as info:
        train_classifier(request(dataset, weights_dir, tmp_path / "model", budget=15.0, patience=3))
    assert info.value.code is FailureCode.DIVERGED
    assert "no better than chance" in info.value.message
    assert 0 < info.value.billed_seconds <= 15.0


def test_an_unreadable_image_fails_as_dataset_corrupt_naming_it(tmp_path: Path, weights_dir: Path) -> None:
    path = shapes_dataset(tmp_path / "data", classes=2, per_class=3)
    dataset = load(path)
    (tmp_path / "data" / "c1_2.png").write_bytes(b"not a png at all")
    with pytest.raises(TrainingFailed) as info:
        train_classifier(request(dataset, weights_dir, tmp_path / "model"))
    assert info.value.code is FailureCode.DATASET_CORRUPT and "c1_2.png" in info.value.message


def test_billing_stops_at_the_budget(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=4, per_class=4, learnable=False, seed=3))
    budget = 8.0
    try:  # noise: never a perfect score, so with endless patience only the budget ends the search
        billed = train_classifier(request(dataset, weights_dir, tmp_path / "model", budget=budget, patience=10**6))
        billed_seconds = billed.billed_seconds
    except TrainingFailed as failed:
        assert failed.code is not FailureCode.NOT_ENOUGH_BUDGET, failed.message
        billed_seconds = failed.billed_seconds
    assert budget * 0.5 < billed_seconds <= budget


def test_a_cancel_stops_the_search_and_keeps_what_was_billed(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=3, per_class=6))
    asked = {"calls": 0}

    def cancel_after_a_few_steps() -> bool:
        asked["calls"] += 1
        return asked["calls"] > 3

    with pytest.raises(TrainingCancelled) as info:
        train_classifier(request(dataset, weights_dir, tmp_path / "model", should_stop=cancel_after_a_few_steps))
    assert 0 < info.value.billed_seconds < 60
    assert not (tmp_path / "model").exists()


def test_the_exported_model_reproduces_the_training_predictions_without_the_weights_dir(
    tmp_path: Path, weights_dir: Path
) -> None:
    from PIL import Image

    from tailor.automl.predictor import Predictor

    path = shapes_dataset(tmp_path / "data", classes=3, per_class=6)
    result = train_classifier(request(load(path), weights_dir, tmp_path / "model"))
    predictor = Predictor.load(result.artifact_dir, device="cpu")
    images = [Image.open(tmp_path / "data" / f"c{c}_{k}.png").convert("RGB") for c in range(3) for k in (0, 5)]
    probabilities = predictor.probabilities(images)
    assert probabilities.shape == (6, 3)
    assert probabilities.sum(axis=1) == pytest.approx(1.0)
    assert probabilities.argmax(1).tolist() == [0, 0, 1, 1, 2, 2]
    assert predictor.class_names == ("class_0", "class_1", "class_2")


def test_a_search_that_spent_its_budget_still_fits_the_served_heads_on_every_image(
    tmp_path: Path, weights_dir: Path
) -> None:
    """With 2 images a class each fold trains on one: a model whose search ran out of budget must still learn from
    both (its heads refit on the features already computed), and the refit is not billed past the budget."""
    import numpy as np
    import torch

    from tailor.automl.budget import BudgetLedger
    from tailor.automl.features import FeatureCache
    from tailor.automl.heads import HeadKind, HeadRecipe, fit_head
    from tailor.automl.search import Candidate, Labels, Search
    from tailor.automl.training import _refit
    from tailor.automl.validation import validation_folds

    backbone = get_backbone("efficientnet_lite0")
    targets = np.repeat(np.arange(3), 2)
    features = np.random.default_rng(0).normal(size=(6, backbone.feature_dim)).astype(np.float32)
    cache = FeatureCache([], weights_dir, torch.device("cpu"))
    cache.keep((backbone.name, backbone.input_size, False), features)
    ledger = BudgetLedger(5.0, clock=iter(np.arange(0.0, 100.0, 10.0)).__next__)
    with ledger.holding_device():
        pass  # 10 s held: the budget of 5 is spent
    assert ledger.exhausted and ledger.billed_seconds == 5.0
    folds = validation_folds(targets, multilabel=False, seed=0)
    assert max(len(train) for train, _ in folds) == 3  # a fold trains on one image a class
    labels = Labels(np.arange(6), targets, ("a", "b", "c"), False)
    search = Search(labels=labels, images=[], cache=cache, backbones=[backbone], ledger=ledger, folds=folds,
                    weights_dir=weights_dir, device=torch.device("cpu"), seed=0, patience=8,
                    should_stop=lambda: False, on_progress=lambda progress: None)
    head = HeadRecipe(c=1.0, kind=HeadKind.PROTOTYPE)
    member = Candidate(0.5, backbone, backbone.input_size, head, np.full((6, 3), 1 / 3), 0)
    served = _refit(request(None, weights_dir, tmp_path / "model", seed=0), labels, cache, search, ledger, member)  # type: ignore[arg-type]
    everything = fit_head(features, targets, 3, head)
    assert np.allclose(served.head.weight.detach().numpy(), everything.weight, atol=1e-6)
    assert ledger.billed_seconds == 5.0
