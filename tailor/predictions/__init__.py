"""Predictions: `imageanalysis:analyze` behind one call, fast from the first request.

    images.py    bytes -> RGB picture and the input's size, every limit of API.md checked (pure: no I/O)
    cache.py     loaded models, LRU-bounded in count and memory, each loaded once (single-flight)
    loader.py    a model loaded on torch or on ONNX Runtime (its export), as TAILOR_RUNTIME says; `auto` measures
    batcher.py   requests that arrive together run as one batch on an inference thread, off the event loop
    service.py   PredictionService.analyze, and the keeper that preloads, forgets and records usage

torch loads with the first model that needs it, never on `import tailor.predictions`: the API starts fast.

May import: tailor.automl, tailor.blobs, tailor.datasets, tailor.enums, tailor.errors, tailor.files,
tailor.models, tailor.settings, tailor.store.
"""

from .cache import ModelCache, ModelKey
from .images import DecodedImage, ImageLimits, ImageProblem, ImageRejected, decode
from .service import ImageUrl, ModelNotReady, Prediction, PredictionConfig, PredictionService, Tag

__all__ = [
    "DecodedImage",
    "ImageLimits",
    "ImageProblem",
    "ImageRejected",
    "ImageUrl",
    "ModelCache",
    "ModelKey",
    "ModelNotReady",
    "Prediction",
    "PredictionConfig",
    "PredictionService",
    "Tag",
    "decode",
]
