"""A trained model as one ONNX file that runs without Tailor and answers as analyze does.

The graph takes what `inputs` makes of a prepared picture: uint8 RGB, (N, H, W, 3), the normalisation inside.
    classifier   one input per distinct preprocessing of its members ("image" when there is one, else "image_0",
                 "image_1", ... in the order of `tailor.preparation`), each (N, size, size, 3); output
                 "probabilities" (N, classes): the members' softmax (multilabel: per-tag sigmoid), weighted average
    detector     "image" (1, H, W, 3) at the network's size (`inputs.detector_size`, any aspect ratio); outputs
                 "boxes" (m, 4) xyxy in that input's pixels, "scores" (m,), "labels" (m,) int64, after suppression,
                 none under the score floor, highest first
What a user needs to prepare the inputs and read the outputs is in the file's metadata_props, each a string
(JSON where structured): tailor.kind, tailor.classes, tailor.multilabel, tailor.thresholds, tailor.score_floor,
tailor.preparation, tailor.model, tailor.version. The README's "Export" section shows them used with Pillow and numpy.

The TorchScript exporter is used (`dynamo=False`): the dynamo exporter cannot trace torchvision's detectors
(CUSTOMVISION.md C), and took 5x longer on classifiers. Every export is run once with ONNX Runtime and compared with
the torch model before it is kept (exporters have shipped wrong graphs): `ExportFailed` when they disagree.

    path = export_onnx(artifact_dir, Path("out/fruit.onnx"), model_name="fruit")
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..enums import ModelKind
from ..errors import InternalFailure
from ..files import staged_file
from .artifact import ArtifactConfig, Ensemble
from .backbones import Preprocess
from .images import DETECTION_KEEP_SIDE
from .inputs import detector_size, sample_picture
from .loading import load_model
from .runtime import metadata_of as read_metadata  # noqa: F401  (the export's reader, beside the writer)

OPSET = 17
PROBABILITY_TOLERANCE = 1e-3  # the export's answers against the torch model's, on the check's images
BOX_TOLERANCE_PX = 1.0


class ExportFailed(InternalFailure):
    """The exported graph does not answer as the model does; nothing was written."""


def export_onnx(artifact_dir: Path, destination: Path, *, model_name: str = "") -> Path:
    """Write the model in `artifact_dir` to `destination` (.onnx), atomically; checked against the torch model."""
    model = load_model(Path(artifact_dir), "cpu")
    if hasattr(model, "detect"):
        graph, examples, names, axes, metadata = _detector_graph(model)
    else:
        graph, examples, names, axes, metadata = _classifier_graph(model.config, model.network)
    metadata |= {"tailor.model": model_name, "tailor.version": __version__}
    destination = Path(destination)
    with staged_file(destination) as staging:
        with warnings.catch_warnings():
            # the TorchScript exporter's deprecation notice and tracer warnings about Python values it keeps fixed:
            # the sizes that matter are checked against the torch model right below
            warnings.simplefilter("ignore")
            torch.onnx.export(graph.eval(), examples, str(staging), dynamo=False, opset_version=OPSET,
                              input_names=names[0], output_names=names[1], dynamic_axes=axes)
        _write_metadata(staging, metadata)
        _check(model, staging)
    return destination


# Classifiers ---------------------------------------------------------------------------------------------------


class _ClassifierGraph(nn.Module):
    def __init__(self, config: ArtifactConfig, network: Ensemble, groups: list[tuple[Preprocess, list[int]]]):
        super().__init__()
        self.network = network
        self.groups = [indices for _, indices in groups]
        self.multilabel = config.multilabel
        self.weights = [config.members[i].weight for i in range(len(config.members))]
        for g, (preprocess, _) in enumerate(groups):
            self.register_buffer(f"mean_{g}", torch.tensor(preprocess.mean).view(1, 3, 1, 1) * 255)
            self.register_buffer(f"std_{g}", torch.tensor(preprocess.std).view(1, 3, 1, 1) * 255)

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(())
        for g, image in enumerate(images):
            batch = (image.permute(0, 3, 1, 2).float() - getattr(self, f"mean_{g}")) / getattr(self, f"std_{g}")
            for i in self.groups[g]:
                logits = self.network.members[i](batch)
                scores = torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=1)
                total = total + self.weights[i] * scores
        return total / sum(self.weights)


def _classifier_graph(config: ArtifactConfig, network: Ensemble):
    ordered = list(config.preprocess_groups().items())
    names = ["image"] if len(ordered) == 1 else [f"image_{g}" for g in range(len(ordered))]
    examples = tuple(torch.zeros((2, p.input_size, p.input_size, 3), dtype=torch.uint8) for p, _ in ordered)
    preparation = {
        "keep_side": config.keep_side,
        "inputs": [{"name": name, "resize": p.resize_size, "size": p.input_size, "interpolation": p.interpolation}
                   for name, (p, _) in zip(names, ordered)],
    }
    metadata = {
        "tailor.kind": ModelKind.CLASSIFIER.value,
        "tailor.classes": json.dumps(list(config.class_names)),
        "tailor.multilabel": json.dumps(config.multilabel),
        "tailor.thresholds": json.dumps(None if config.thresholds is None else list(config.thresholds)),
        "tailor.preparation": json.dumps(preparation),
    }
    axes = {name: {0: "batch"} for name in names} | {"probabilities": {0: "batch"}}
    return _ClassifierGraph(config, network, ordered), examples, (names, ["probabilities"]), axes, metadata


# Detectors -----------------------------------------------------------------------------------------------------


class _DetectorGraph(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network  # the Detector's: it takes its input at the network's size (no resize of its own)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        found = self.network([image[0].permute(2, 0, 1).float() / 255])[0]
        return found["boxes"], found["scores"], found["labels"]


def _detector_graph(detector: Any):
    config = detector.config
    width, height = _example_size(config.min_size, config.max_size)
    examples = (torch.zeros((1, height, width, 3), dtype=torch.uint8),)
    preparation = {"keep_side": DETECTION_KEEP_SIDE, "min_size": config.min_size, "max_size": config.max_size,
                   "resize": "bilinear"}
    metadata = {
        "tailor.kind": ModelKind.DETECTOR.value,
        "tailor.classes": json.dumps(list(config.class_names)),
        "tailor.score_floor": json.dumps(detector.network.score_thresh),
        "tailor.preparation": json.dumps(preparation),
    }
    names = (["image"], ["boxes", "scores", "labels"])
    axes = {"image": {1: "height", 2: "width"}, "boxes": {0: "found"}, "scores": {0: "found"}, "labels": {0: "found"}}
    return _DetectorGraph(detector.network), examples, names, axes, metadata


def _example_size(min_size: int, max_size: int) -> tuple[int, int]:
    return detector_size(4 * min_size // 3, min_size, min_size, max_size)


# The check -----------------------------------------------------------------------------------------------------


def _check(model: Any, path: Path) -> None:
    """Run the file with ONNX Runtime on pictures unlike the trace's (other sizes, for a detector) and compare."""
    from .runtime import OnnxClassifier, OnnxDetector, load_onnx

    onnx_model = load_onnx(path)  # of the model's kind: the file was just exported from it
    pictures = [sample_picture(320, 240, seed=0), sample_picture(200, 300, seed=1)]
    if hasattr(model, "detect"):
        for ours, theirs in zip(model.detect(pictures), cast(OnnxDetector, onnx_model).detect(pictures)):
            if not same_detections(ours, theirs):
                raise ExportFailed(f"{path.name}: the exported detector's boxes differ from the model's")
    else:
        difference = np.abs(
            model.probabilities(pictures) - cast(OnnxClassifier, onnx_model).probabilities(pictures)
        ).max()
        if difference > PROBABILITY_TOLERANCE:
            raise ExportFailed(f"{path.name}: the exported probabilities differ from the model's by {difference:.2g}")


def same_detections(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> bool:
    """The same boxes, labels and scores, within the tolerances, in any order among equal scores (each runtime
    breaks ties its own way)."""
    if len(ours["scores"]) != len(theirs["scores"]):
        return False
    unmatched = list(range(len(theirs["scores"])))
    for box, label, score in zip(ours["boxes"], ours["labels"], ours["scores"]):
        match = next((j for j in unmatched if theirs["labels"][j] == label
                      and abs(theirs["scores"][j] - score) <= PROBABILITY_TOLERANCE
                      and np.abs(theirs["boxes"][j] - box).max() <= BOX_TOLERANCE_PX), None)
        if match is None:
            return False
        unmatched.remove(match)
    return True


def _write_metadata(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    graph = onnx.load(str(path))
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))
