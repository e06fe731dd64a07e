"""An exported model (`export.export_onnx`) run with ONNX Runtime, with the interface of the torch models: an
`OnnxClassifier` answers `probabilities(images)` as `predictor.Predictor` does, an `OnnxDetector` answers
`detect(images)` as `detection.Detector` does, on the same prepared pictures. No torch is imported here.

    model = load_onnx(Path("fruit.onnx"))          # the kind is read from the file's metadata
    probabilities = model.probabilities(images)    # or model.detect(images)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..enums import ModelKind
from .inputs import boxes_on_image, classifier_input, detector_input


def session(path: Path | bytes, *, threads: int | None = None, providers: Sequence[str] = ("CPUExecutionProvider",)) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # Spinning intra-op threads starved torch in the same process on 2 cores (23 ms -> 508 ms, CUSTOMVISION.md C).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    model = path if isinstance(path, bytes) else str(path)
    return onnxruntime.InferenceSession(model, options, providers=list(providers))


def metadata_of(model: Path | bytes) -> dict[str, str]:
    """The file's metadata_props (tailor.kind, tailor.classes, ...), read without running it."""
    import onnx

    graph = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model), load_external_data=False)
    return {p.key: p.value for p in graph.metadata_props}


class _OnnxModel:
    def __init__(self, inference: Any, metadata: dict[str, str], nbytes: int):
        self.session = inference
        self.metadata = metadata
        self.nbytes = nbytes  # about what it holds in memory: its weights, the file's size
        self.class_names: tuple[str, ...] = tuple(json.loads(metadata["tailor.classes"]))
        self.preparation: dict[str, Any] = json.loads(metadata["tailor.preparation"])

    @property
    def keep_side(self) -> int:
        """The shorter side to prepare images at (`images.prepare_image`)."""
        return int(self.preparation["keep_side"])


class OnnxClassifier(_OnnxModel):
    @property
    def multilabel(self) -> bool:
        return bool(json.loads(self.metadata.get("tailor.multilabel", "false")))

    def probabilities(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, len(self.class_names)))
        feeds = {
            spec["name"]: np.stack([classifier_input(image, spec["resize"], spec["size"], spec["interpolation"])
                                    for image in images])
            for spec in self.preparation["inputs"]
        }
        return self.session.run(["probabilities"], feeds)[0].astype(np.float64)


class OnnxDetector(_OnnxModel):
    def detect(self, images: Sequence[Image.Image]) -> list[dict[str, np.ndarray]]:
        found = []
        for image in images:  # one at a time: each has its own size
            array = detector_input(image, self.preparation["min_size"], self.preparation["max_size"])
            boxes, scores, labels = self.session.run(["boxes", "scores", "labels"], {"image": array[None]})
            found.append({"boxes": boxes_on_image(boxes, image, array), "scores": scores, "labels": labels})
        return found


def load_onnx(path: Path | bytes, *, threads: int | None = None,
              providers: Sequence[str] = ("CPUExecutionProvider",)) -> OnnxClassifier | OnnxDetector:
    inference = session(path, threads=threads, providers=providers)
    metadata = dict(inference.get_modelmeta().custom_metadata_map)
    nbytes = len(path) if isinstance(path, bytes) else Path(path).stat().st_size
    kind = metadata.get("tailor.kind")
    if kind == ModelKind.DETECTOR.value:
        return OnnxDetector(inference, metadata, nbytes)
    if kind == ModelKind.CLASSIFIER.value:
        return OnnxClassifier(inference, metadata, nbytes)
    raise ValueError(f"{'the file' if isinstance(path, bytes) else path} is not a model exported by Tailor (its metadata has tailor.kind {kind!r})")

