"""ONNX export (tailor.automl.export) and the ONNX Runtime models (tailor.automl.runtime): for every bundled
backbone and both kinds, the exported file answers as the torch model does, on real photographs of other sizes
and aspect ratios than the trace's (CUSTOMVISION.md C: a traced detector once answered only at its traced size)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from torch import nn

from tailor.automl.artifact import ArtifactConfig, Classifier, MemberConfig, write_artifact
from tailor.automl.backbones import BACKBONES, build_backbone
from tailor.automl.detection.detector import DetectorConfig, write_detector
from tailor.automl.detection.network import build_detector
from tailor.automl.export import ExportFailed, _check, export_onnx, read_metadata, same_detections
from tailor.automl.loading import load_model
from tailor.automl.runtime import OnnxClassifier, OnnxDetector, load_onnx


@pytest.fixture(scope="module")
def photographs() -> list[Image.Image]:
    """Real photographs, decoded from files, at sizes and aspect ratios unlike any the graphs were traced at."""
    return [
        Image.fromarray(data.chelsea()),  # 451 x 300
        Image.fromarray(data.coffee()).resize((200, 310)),  # portrait
        Image.fromarray(data.astronaut()).resize((640, 250)),  # wide
        Image.fromarray(data.rocket()).resize((97, 61)),  # small: enlarged on the way in
    ]


def classifier_artifact(root: Path, weights_dir: Path, names: list[str], multilabel: bool = False) -> Path:
    """A classifier with the backbones' pretrained weights and random heads: what parity needs, without training."""
    torch.manual_seed(len(names))
    members = [Classifier(build_backbone(n, weights_dir=weights_dir, num_classes=0),
                          nn.Linear(BACKBONES[n].feature_dim, 3)) for n in names]
    configs = tuple(MemberConfig.of(BACKBONES[n], BACKBONES[n].preprocess.input_size, {}, weight=1.0 + k)
                    for k, n in enumerate(names))
    thresholds = (0.5, 0.4, 0.6) if multilabel else None
    return write_artifact(root / "classifier", members,
                          ArtifactConfig(("cat", "cup", "rocket"), multilabel, thresholds, configs, {}))


def detector_artifact(root: Path, weights_dir: Path, name: str) -> Path:
    """A detector with pretrained backbone weights and a random head whose scores pass the floor: boxes to compare."""
    torch.manual_seed(0)
    backbone = BACKBONES[name]
    network = build_detector(backbone, 2, min_size=384, max_size=640, weights_dir=weights_dir)
    nn.init.normal_(network.head.classification_head.cls_logits.bias, 0.0, 1.0)
    config = DetectorConfig(("tree", "car"), name, backbone.timm_name, 384, 640, {}, {},
                            mean=backbone.preprocess.mean, std=backbone.preprocess.std)
    return write_detector(root / "detector", network, config)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_an_exported_classifier_answers_as_the_model(name, tmp_path, weights_dir, photographs) -> None:
    artifact = classifier_artifact(tmp_path, weights_dir, [name])
    exported = load_onnx(export_onnx(artifact, tmp_path / "out" / "model.onnx", model_name="pets"))
    assert isinstance(exported, OnnxClassifier)
    ours, theirs = load_model(artifact, "cpu").probabilities(photographs), exported.probabilities(photographs)
    assert theirs.shape == (4, 3)
    assert np.abs(ours - theirs).max() < 1e-4
    assert (ours.argmax(1) == theirs.argmax(1)).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_an_exported_detector_answers_as_the_model_at_any_size(name, tmp_path, weights_dir, photographs) -> None:
    artifact = detector_artifact(tmp_path, weights_dir, name)
    exported = load_onnx(export_onnx(artifact, tmp_path / "model.onnx"))
    assert isinstance(exported, OnnxDetector)
    for ours, theirs in zip(load_model(artifact, "cpu").detect(photographs), exported.detect(photographs)):
        assert len(ours["scores"]) == len(theirs["scores"]) > 0
        assert np.abs(np.sort(ours["scores"]) - np.sort(theirs["scores"])).max() < 1e-4
        # box for box (in pixels of the photograph), in any order among equal scores
        assert same_detections(ours, theirs)
        assert np.abs(ours["boxes"] - theirs["boxes"]).max(1).__lt__(0.1).mean() > 0.9  # mostly in the same order


@pytest.mark.slow
def test_an_ensemble_of_two_preprocessings_takes_one_input_for_each(tmp_path, weights_dir, photographs) -> None:
    artifact = classifier_artifact(tmp_path, weights_dir, ["mobilenetv2_100", "efficientnet_lite1"], multilabel=True)
    path = export_onnx(artifact, tmp_path / "ensemble.onnx", model_name="kitchen")
    metadata = read_metadata(path)
    preparation = json.loads(metadata["tailor.preparation"])
    assert [(i["name"], i["size"], i["interpolation"]) for i in preparation["inputs"]] == [
        ("image_0", 224, "bilinear"), ("image_1", 240, "bicubic")]
    assert preparation["keep_side"] == 320
    assert metadata["tailor.kind"] == "Generic-Classifier" and metadata["tailor.model"] == "kitchen"
    assert json.loads(metadata["tailor.classes"]) == ["cat", "cup", "rocket"]
    assert json.loads(metadata["tailor.multilabel"]) is True
    assert json.loads(metadata["tailor.thresholds"]) == [0.5, 0.4, 0.6]
    ours, theirs = load_model(artifact, "cpu").probabilities(photographs), load_onnx(path).probabilities(photographs)
    assert np.abs(ours - theirs).max() < 1e-4
    assert not np.allclose(theirs.sum(1), 1.0)  # per-tag sigmoids, not a softmax


@pytest.mark.slow
def test_a_detectors_metadata_says_how_to_prepare_its_input(tmp_path, weights_dir) -> None:
    metadata = read_metadata(export_onnx(detector_artifact(tmp_path, weights_dir, "mobilenetv2_100"),
                                         tmp_path / "d.onnx"))
    assert metadata["tailor.kind"] == "Generic-Detector"
    assert json.loads(metadata["tailor.classes"]) == ["tree", "car"]
    assert json.loads(metadata["tailor.score_floor"]) == pytest.approx(0.3)
    assert json.loads(metadata["tailor.preparation"]) == {"keep_side": 640, "min_size": 384, "max_size": 640,
                                                          "resize": "bilinear"}


def test_an_export_that_disagrees_with_its_model_is_refused(tmp_path, weights_dir) -> None:
    one = classifier_artifact(tmp_path / "one", weights_dir, ["mobilenetv2_100"])
    other = classifier_artifact(tmp_path / "other", weights_dir, ["efficientnet_lite0"])
    path = export_onnx(other, tmp_path / "other.onnx")
    with pytest.raises(ExportFailed, match="differ"):
        _check(load_model(one, "cpu"), path)


def test_a_failed_export_leaves_nothing(tmp_path, weights_dir, monkeypatch) -> None:
    from tailor.automl import export

    def disagree(model, path):
        raise ExportFailed("the exported probabilities differ")

    monkeypatch.setattr(export, "_check", disagree)
    artifact = classifier_artifact(tmp_path, weights_dir, ["mobilenetv2_100"])
    with pytest.raises(ExportFailed):
        export_onnx(artifact, tmp_path / "out" / "model.onnx")
    assert list((tmp_path / "out").iterdir()) == []  # neither the file nor its staging copy
