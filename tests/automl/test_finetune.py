"""Fine-tuning on generated images with real pretrained backbones, on the CPU: what is frozen stays frozen, the
network learns, the budget stops it with its best epoch, and the search exports the fine-tuned weights."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tailor.automl import train_classifier
from tailor.automl.artifact import Classifier
from tailor.automl.backbones import build_backbone, get_backbone
from tailor.automl.budget import BudgetExhausted
from tailor.automl.features import to_tensor
from tailor.automl.finetune import Adaptation, Crops, FineTuneRecipe, fine_tune, predict
from tailor.automl.predictor import Predictor
from tests.automl.test_training import load, request
from tests.images import shapes_dataset

BACKBONE = "efficientnet_lite0"
SIZE = 160
CPU = torch.device("cpu")


def images_and_targets(root: Path, classes: int = 3, per_class: int = 4):
    shapes_dataset(root, classes=classes, per_class=per_class)
    images = [Image.open(root / f"c{c}_{k}.png").convert("RGB") for c in range(classes) for k in range(per_class)]
    return images, np.repeat(np.arange(classes), per_class)


def network(weights_dir: Path, classes: int = 3) -> Classifier:
    backbone = get_backbone(BACKBONE)
    return Classifier(build_backbone(BACKBONE, weights_dir=weights_dir), torch.nn.Linear(backbone.feature_dim, classes))


def recipe(adaptation: Adaptation = Adaptation.FULL, epochs: int = 3, **changes) -> FineTuneRecipe:
    base = FineTuneRecipe(adaptation, lr=1e-3, weight_decay=1e-4, epochs=epochs, augment=0.3, label_smoothing=0.1,
                          batch_size=6)
    return replace(base, **changes)


def test_evaluation_crops_are_the_served_preprocessing(tmp_path: Path) -> None:
    images, _ = images_and_targets(tmp_path)
    preprocess = replace(get_backbone(BACKBONE).preprocess, input_size=SIZE)
    crops = Crops(images, preprocess)
    served = to_tensor(images, preprocess)
    assert crops.eval_batch(np.arange(len(images))).shape == served.shape
    # One rounding to uint8 apart, nothing more.
    assert (crops.eval_batch(np.arange(len(images))) - served).abs().max() <= 2 / 255 / min(preprocess.std) + 1e-6


def test_augmented_batches_have_the_input_size_differ_between_calls_and_none_is_the_centre(tmp_path: Path) -> None:
    images, _ = images_and_targets(tmp_path)
    crops = Crops(images, replace(get_backbone(BACKBONE).preprocess, input_size=SIZE))
    rows, rng = np.arange(4), np.random.default_rng(0)
    first, second = crops.train_batch(rows, 1.0, rng), crops.train_batch(rows, 1.0, rng)
    assert first.shape == (4, 3, SIZE, SIZE) and first.dtype == torch.float32
    assert not torch.equal(first, second)
    assert torch.equal(crops.train_batch(rows, 0.0, rng), crops.eval_batch(rows))
    # Normalised pixels stay within the range that [0, 255] maps to.
    preprocess = crops.preprocess
    low = min((0 - m) / s for m, s in zip(preprocess.mean, preprocess.std))
    high = max((1 - m) / s for m, s in zip(preprocess.mean, preprocess.std))
    assert low - 1e-5 <= first.min() and first.max() <= high + 1e-5


def test_last_stages_train_the_end_of_the_network_and_leave_the_rest_as_it_was(tmp_path: Path, weights_dir: Path) -> None:
    images, targets = images_and_targets(tmp_path)
    crops = Crops(images, replace(get_backbone(BACKBONE).preprocess, input_size=SIZE))
    model = network(weights_dir)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    rows = np.arange(len(images))
    result = fine_tune(model, crops, targets, rows, rows[:3], recipe(Adaptation.LAST_STAGES, epochs=1),
                       multilabel=False, device=CPU, step=lambda: None)
    after = result.network.state_dict()
    assert torch.equal(after["backbone.conv_stem.weight"], before["backbone.conv_stem.weight"])
    assert torch.equal(after["backbone.bn1.running_mean"], before["backbone.bn1.running_mean"])  # frozen BN stats
    assert torch.equal(after["backbone.blocks.0.0.conv_dw.weight"], before["backbone.blocks.0.0.conv_dw.weight"])
    assert not torch.equal(after["backbone.blocks.6.0.conv_pwl.weight"], before["backbone.blocks.6.0.conv_pwl.weight"])
    assert not torch.equal(after["backbone.conv_head.weight"], before["backbone.conv_head.weight"])
    assert not torch.equal(after["head.weight"], before["head.weight"])


@pytest.mark.slow
def test_full_fine_tuning_learns_and_reports_every_epoch(tmp_path: Path, weights_dir: Path) -> None:
    images, targets = images_and_targets(tmp_path, per_class=6)
    crops = Crops(images, replace(get_backbone(BACKBONE).preprocess, input_size=SIZE))
    train = np.array([i for i in range(len(images)) if i % 6 < 4])
    valid = np.array([i for i in range(len(images)) if i % 6 >= 4])
    reported: list[int] = []
    result = fine_tune(network(weights_dir), crops, targets, train, valid, recipe(epochs=5, lr=2e-3),
                       multilabel=False, device=CPU, step=lambda: None, on_epoch=lambda e, p: reported.append(e))
    assert reported == [1, 2, 3, 4, 5] and result.complete and result.epochs_done == 5
    assert result.probabilities.shape == (len(valid), 3)
    # From a random head (the search starts from a probe instead): it fits its images and beats chance elsewhere.
    fitted = predict(result.network, crops, train, multilabel=False, device=CPU)
    assert (fitted.argmax(1) == targets[train]).mean() >= 0.9
    assert (result.probabilities.argmax(1) == targets[valid]).mean() > 0.5
    assert result.train_images_per_second > 0
    again = predict(result.network, crops, valid, multilabel=False, device=CPU)
    np.testing.assert_allclose(again, result.probabilities, atol=1e-5)  # the returned network is the scored one


def test_the_budget_stops_a_run_which_keeps_its_best_epoch(tmp_path: Path, weights_dir: Path) -> None:
    images, targets = images_and_targets(tmp_path)
    crops = Crops(images, replace(get_backbone(BACKBONE).preprocess, input_size=SIZE))
    rows = np.arange(len(images))
    calls = {"n": 0}

    def budget_of_three_batches() -> None:  # 12 images in batches of 6: an epoch is 2 batches + 1 evaluation batch
        calls["n"] += 1
        if calls["n"] > 4:
            raise BudgetExhausted

    result = fine_tune(network(weights_dir), crops, targets, rows, rows, recipe(epochs=5), multilabel=False,
                       device=CPU, step=budget_of_three_batches)
    assert not result.complete and result.epochs_done == 1
    np.testing.assert_allclose(predict(result.network, crops, rows, multilabel=False, device=CPU),
                               result.probabilities, atol=1e-5)
    with pytest.raises(BudgetExhausted):  # no epoch finished: nothing to keep
        fine_tune(network(weights_dir), crops, targets, rows, rows, recipe(), multilabel=False, device=CPU,
                  step=lambda: (_ for _ in ()).throw(BudgetExhausted()))


def test_a_fine_tuning_search_exports_the_fine_tuned_network(tmp_path: Path, weights_dir: Path) -> None:
    dataset = load(shapes_dataset(tmp_path / "data", classes=2, per_class=3))
    result = train_classifier(
        request(dataset, weights_dir, tmp_path / "model", budget=40.0, patience=2, adaptations=(Adaptation.LAST_STAGES,))
    )
    config = json.loads((result.artifact_dir / "config.json").read_text())
    member = config["members"][0]
    assert member["recipe"]["adaptation"] == "lastStages" and member["recipe"]["epochs"] >= 2
    exported = load_file(str(result.artifact_dir / "model.safetensors"))
    pretrained = build_backbone(member["backbone"], weights_dir=weights_dir).state_dict()
    assert not torch.equal(exported["members.0.backbone.conv_head.weight"], pretrained["conv_head.weight"])
    assert torch.equal(exported["members.0.backbone.conv_stem.weight"], pretrained["conv_stem.weight"])
    predictor = Predictor.load(result.artifact_dir, device="cpu")
    images = [Image.open(tmp_path / "data" / f"c{c}_{k}.png").convert("RGB") for c in range(2) for k in range(3)]
    assert predictor.probabilities(images).argmax(1).tolist() == [0, 0, 0, 1, 1, 1]
    assert result.billed_seconds <= 40.0


def test_multilabel_fine_tuning_gives_independent_per_tag_probabilities(tmp_path: Path, weights_dir: Path) -> None:
    images, classes = images_and_targets(tmp_path)
    targets = np.eye(3, dtype=np.int64)[classes]
    targets[::2, 0] = 1  # every other image also carries tag 0
    crops = Crops(images, replace(get_backbone(BACKBONE).preprocess, input_size=SIZE))
    rows = np.arange(len(images))
    result = fine_tune(network(weights_dir), crops, targets, rows, rows, recipe(epochs=2, label_smoothing=0.0),
                       multilabel=True, device=CPU, step=lambda: None)
    assert result.probabilities.shape == (len(images), 3)
    assert ((result.probabilities >= 0) & (result.probabilities <= 1)).all()
    assert not np.allclose(result.probabilities.sum(axis=1), 1.0)  # sigmoids, not a softmax
