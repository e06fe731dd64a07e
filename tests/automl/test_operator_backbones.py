"""Operator backbones (TAILOR_BACKBONES): a timm architecture the test registers with weights the test writes,
converted into a weights folder, trained end to end (classifier and detector) and served from its artifact; and the
errors that say how to fix a bad setting or a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file

from tailor.automl import TrainingRequest, train_classifier
from tailor.automl.backbones import (
    BACKBONES,
    BackboneWeightsError,
    OperatorSource,
    available_backbones,
    build_backbone,
    parse_backbones,
    prepare_weights,
)
from tailor.automl.detection import Detector, train_detector
from tailor.automl.finetune import Adaptation
from tailor.automl.images import load_images
from tailor.automl.predictor import Predictor
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, Purpose, validate_coco
from tailor.settings import Settings
from tailor.workers.context import JobContext
from tests.images import boxes_dataset, shapes_dataset

ARCH = "test_convnext"  # timm's own tiny test network: 0.2 M parameters, strides 4 to 32
READER = BlobReader(BlobPolicy.local_user())
FETCH = READER.image_fetcher(Access())


def written_weights(path: Path, arch: str = ARCH, seed: int = 0) -> dict[str, torch.Tensor]:
    """The full network's weights (its 1000-class head included, as a checkpoint would have them)."""
    torch.manual_seed(seed)
    state = {k: v.contiguous() for k, v in timm.create_model(arch, pretrained=False).state_dict().items()}
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    return state


def operator_only(tmp_path: Path, weights_file: Path) -> Path:
    """A weights folder holding the operator's backbone alone (the bundled ones are not converted into it)."""
    weights_dir = tmp_path / "weights"
    prepare_weights(weights_dir, registry={}, operator=parse_backbones([f"{ARCH}={weights_file}"], reserved=BACKBONES))
    return weights_dir


def dataset_of(path: Path, kind: AnnotationKind):
    report = validate_coco([READER.annotation_file(str(path), max_bytes=10**7)], kind, Purpose.TRAINING)
    assert report.valid, report.errors
    return report.dataset


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_a_registered_file_becomes_a_backbone_with_exactly_its_weights(tmp_path: Path, suffix: str) -> None:
    file = tmp_path / f"{ARCH}{suffix}"
    state = written_weights(file)
    weights_dir = operator_only(tmp_path, file)
    record = json.loads((weights_dir / f"{ARCH}.backbone.json").read_text())
    assert record["timm_name"] == ARCH and record["preprocess"]["input_size"] == 160  # timm's pretrained config
    assert record["feature_dim"] == 64 and record["gflops"] > 0
    [backbone] = available_backbones(weights_dir)  # the bundled four have no weights in this folder
    assert backbone.name == ARCH and backbone.weights.operator
    model = build_backbone(ARCH, weights_dir=weights_dir)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name]), name  # the head is left out, everything else is the file's


def test_an_unchanged_source_is_not_converted_again_and_a_removed_one_goes(tmp_path: Path) -> None:
    file = tmp_path / "w.safetensors"
    written_weights(file)
    weights_dir = operator_only(tmp_path, file)
    converted = weights_dir / f"{ARCH}.safetensors"
    before = converted.stat().st_mtime_ns
    operator_only(tmp_path, file)
    assert converted.stat().st_mtime_ns == before
    written_weights(file, seed=1)  # new weights at the same path: converted again
    operator_only(tmp_path, file)
    assert converted.stat().st_mtime_ns != before
    prepare_weights(weights_dir, registry={}, operator=[])
    assert not converted.exists() and available_backbones(weights_dir) == []


def test_an_operator_backbone_trains_a_classifier_that_serves_from_its_artifact(tmp_path: Path) -> None:
    file = tmp_path / "w.safetensors"
    written_weights(file)
    weights_dir = operator_only(tmp_path, file)
    dataset = dataset_of(shapes_dataset(tmp_path / "data", classes=3, per_class=6), AnnotationKind.CLASSIFICATION)
    result = train_classifier(TrainingRequest(dataset, FETCH, 15.0, weights_dir, tmp_path / "model", patience=4))
    assert result.billed_seconds <= 15.0
    config = json.loads((result.artifact_dir / "config.json").read_text())
    assert {m["timm_name"] for m in config["members"]} == {ARCH}
    predictor = Predictor.load(result.artifact_dir, device="cpu")  # no weights folder, no registry: the file alone
    images = load_images(dataset.image_urls, FETCH)
    probabilities = predictor.probabilities(images)
    assert probabilities.shape == (18, 3) and np.allclose(probabilities.sum(axis=1), 1.0)
    training_accuracy = (probabilities.argmax(axis=1) == np.repeat(np.arange(3), 6)).mean()
    assert training_accuracy > 0.5  # discs of three colours, even on a random network's features


def test_an_operator_backbone_carries_a_detector(tmp_path: Path) -> None:
    file = tmp_path / "w.safetensors"
    written_weights(file)
    weights_dir = operator_only(tmp_path, file)
    coco, _ = boxes_dataset(tmp_path / "data", classes=2, per_class=4)
    dataset = dataset_of(coco, AnnotationKind.DETECTION)
    result = train_detector(TrainingRequest(dataset, FETCH, 20.0, weights_dir, tmp_path / "model"))
    assert result.billed_seconds <= 20.0
    config = json.loads((result.artifact_dir / "config.json").read_text())
    assert config["timm_name"] == ARCH and config["mean"] == [0.5, 0.5, 0.5]
    detector = Detector.load(result.artifact_dir, device="cpu")
    [found] = detector.detect(load_images(dataset.image_urls[:1], FETCH, keep_side=640))
    assert found["boxes"].shape[1:] == (4,) and len(found["boxes"]) == len(found["scores"]) == len(found["labels"])


def test_the_worker_reads_the_setting_and_a_mistake_fails_the_training_saying_what_to_fix(tmp_path: Path) -> None:
    file = tmp_path / "w.safetensors"
    written_weights(file)
    context = JobContext(Settings(data_dir=tmp_path / "data", backbones=f"{ARCH}={file}"))
    context.prepare_weights()
    assert ARCH in {b.name for b in available_backbones(context.weights_dir)}
    broken = JobContext(Settings(data_dir=tmp_path / "data", backbones=f"{ARCH}={tmp_path / 'missing.safetensors'}"))
    with pytest.raises(Exception) as failed:
        broken.prepare_weights()
    assert "missing.safetensors" in str(failed.value) and "does not exist" in str(failed.value)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("convnext_atomic=/x.safetensors", "did you mean convnext_atto"),
        ("efficientnet_lite0=/x.safetensors", "bundled backbone"),
        ("convnext_atto", "not name=source"),
        ("convnext_atto=/no/such/file.safetensors", "does not exist"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_fix(entry: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_backbones([entry], reserved=BACKBONES)


def test_the_same_name_twice_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "w.safetensors"
    file.write_bytes(b"x")
    with pytest.raises(ValueError, match="twice"):
        parse_backbones([f"{ARCH}={file}", f"{ARCH}={file}"], reserved=BACKBONES)


def test_a_hub_source_is_taken_without_a_file() -> None:
    [source] = parse_backbones(["vit_small_patch14_dinov2=hf-hub:timm/vit_small_patch14_dinov2.lvd142m"],
                               reserved=BACKBONES)
    assert source == OperatorSource("vit_small_patch14_dinov2", "hf-hub:timm/vit_small_patch14_dinov2.lvd142m")
    assert source.from_hub


def test_weights_of_another_architecture_are_refused_naming_what_differs(tmp_path: Path) -> None:
    file = tmp_path / "resnet.safetensors"
    written_weights(file, arch="test_resnet")
    with pytest.raises(BackboneWeightsError, match="does not hold the weights of timm's test_convnext: missing"):
        operator_only(tmp_path, file)
    assert not (tmp_path / "weights" / f"{ARCH}.safetensors").exists()


def test_a_file_that_is_not_weights_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "notes.pth"
    file.write_text("not a checkpoint")
    with pytest.raises(BackboneWeightsError, match="cannot be read as weights"):
        operator_only(tmp_path, file)


def test_a_hub_source_is_fetched_through_timm_into_the_weights_folder(tmp_path: Path, monkeypatch) -> None:
    """The hub as a machine with the network sees it, played by files the test writes into the cache timm reads
    (`<weights_dir>/hub`, Hugging Face's layout), with the hub client offline so that nothing is fetched."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    repo = tmp_path / "weights" / "hub" / "models--timm--test_convnext.r160_in1k"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    state = written_weights(snapshot / "model.safetensors", seed=3)
    (snapshot / "config.json").write_text(json.dumps({
        "architecture": ARCH, "num_classes": 1000, "num_features": 64,
        "pretrained_cfg": {"input_size": [3, 176, 176], "interpolation": "bilinear", "crop_pct": 0.9,
                           "mean": [0.4, 0.4, 0.4], "std": [0.3, 0.3, 0.3], "num_classes": 1000,
                           "classifier": "head.fc"},
    }))
    weights_dir = tmp_path / "weights"
    source = parse_backbones([f"{ARCH}=hf-hub:timm/test_convnext.r160_in1k"], reserved=BACKBONES)
    prepare_weights(weights_dir, registry={}, operator=source)
    [backbone] = available_backbones(weights_dir)
    assert backbone.preprocess.input_size == 176 and backbone.preprocess.mean == (0.4, 0.4, 0.4)  # the repo's config
    model = build_backbone(ARCH, weights_dir=weights_dir)
    assert all(torch.equal(tensor, state[name]) for name, tensor in model.state_dict().items())


def test_an_unreachable_hub_source_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    source = parse_backbones([f"{ARCH}=hf-hub:timm/no_such_repo"], reserved=BACKBONES)
    with pytest.raises(BackboneWeightsError, match="could not be fetched from hf-hub:timm/no_such_repo.*needs the network"):
        prepare_weights(tmp_path / "weights", registry={}, operator=source)


def shapes_of_random_colours(root: Path, per_class: int) -> Path:
    """Discs, squares and triangles, each of a random colour at a random place on a random background: the class is
    the shape alone."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    images, annotations = [], []
    for kind, shape in enumerate(("disc", "square", "triangle")):
        for k in range(per_class):
            image = Image.new("RGB", (96, 96), tuple(int(v) for v in rng.integers(0, 256, 3)))
            side = int(rng.integers(36, 60))
            left, top = (int(v) for v in rng.integers(4, 92 - side, 2))
            box, colour = (left, top, left + side, top + side), tuple(int(v) for v in rng.integers(0, 256, 3))
            draw = ImageDraw.Draw(image)
            if shape == "disc":
                draw.ellipse(box, fill=colour)
            elif shape == "square":
                draw.rectangle(box, fill=colour)
            else:
                draw.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fill=colour)
            name = f"{shape}_{k}.png"
            image.save(root / name)
            images.append({"id": len(images) + 1, "width": 96, "height": 96, "file_name": name, "absolute_url": name})
            annotations.append({"id": len(images), "image_id": len(images), "category_id": kind + 1})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(("disc", "square", "triangle"))]}
    (root / "train.json").write_text(json.dumps(coco))
    return root / "train.json"


def test_the_ensemble_weighs_an_operator_backbone_by_what_it_is_worth(tmp_path: Path, weights_dir: Path) -> None:
    """Two operator backbones: timm's `tf_efficientnet_lite0` with real ImageNet weights (the bundled lite0's file,
    registered under timm's own name) and `test_convnext` with random ones. On shapes of random colours, which only
    real features tell apart, the real one must weigh more in the model than the random one, or the random one go."""
    real = tmp_path / "lite0.safetensors"
    real.write_bytes((weights_dir / "efficientnet_lite0.safetensors").read_bytes())
    random_file = tmp_path / "random.safetensors"
    written_weights(random_file)
    operator_dir = tmp_path / "weights"
    sources = parse_backbones([f"tf_efficientnet_lite0={real}", f"{ARCH}={random_file}"], reserved=BACKBONES)
    prepare_weights(operator_dir, registry={}, operator=sources)
    dataset = dataset_of(shapes_of_random_colours(tmp_path / "data", per_class=12), AnnotationKind.CLASSIFICATION)
    result = train_classifier(TrainingRequest(dataset, FETCH, 40.0, operator_dir, tmp_path / "model", patience=4,
                                              adaptations=(Adaptation.LINEAR_PROBE,)))
    weights = {m["backbone"]: m["weight"] for m in json.loads((result.artifact_dir / "config.json").read_text())["members"]}
    assert result.trials >= 2  # both backbones' standard probes ran
    assert weights.get("tf_efficientnet_lite0", 0.0) > weights.get(ARCH, 0.0), weights  # here: the random one went
