"""A prepared picture (`images.prepare_image`) as the uint8 RGB array a network takes: a classifier member's
resize-and-crop, a detector's resize to its training scale. Pure Pillow and numpy, no torch: the torch path, the
ONNX Runtime path and an exported model's user (samples/onnx_predict.py, the README) all build the same array, so
that they get the same answers.

    square = classifier_input(picture, resize=256, size=224, interpolation="bilinear")   # (224, 224, 3) uint8
    array = detector_input(picture, min_size=384, max_size=640)                          # (h, w, 3) uint8
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def resize_and_crop(image: Image.Image, resize: int, size: int, interpolation: str) -> Image.Image:
    """The shorter side resized to `resize` (Pillow, `interpolation`), then the centre `size` x `size` square."""
    scale = resize / min(image.size)
    w, h = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    resized = image.resize((w, h), RESAMPLE[interpolation])
    left, top = (w - size) // 2, (h - size) // 2
    return resized.crop((left, top, left + size, top + size))


def classifier_input(image: Image.Image, resize: int, size: int, interpolation: str) -> np.ndarray:
    return np.asarray(resize_and_crop(image, resize, size, interpolation).convert("RGB"), dtype=np.uint8)


def detector_size(width: int, height: int, min_size: int, max_size: int) -> tuple[int, int]:
    """(width, height) a detector sees an image at: the shorter side scaled to `min_size` unless the longer would
    pass `max_size` (then the longer to `max_size`), rounded down, as torchvision's detection transform does."""
    scale = min(min_size / min(width, height), max_size / max(width, height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def detector_input(image: Image.Image, min_size: int, max_size: int) -> np.ndarray:
    width, height = detector_size(image.width, image.height, min_size, max_size)
    return resize_bilinear(np.asarray(image.convert("RGB"), dtype=np.uint8), width, height)


def boxes_on_image(boxes: np.ndarray, image: Image.Image, network_input: np.ndarray) -> np.ndarray:
    """A detector's (x1, y1, x2, y2) boxes, found on `network_input` (`detector_input` of `image`), in the image's
    own pixels."""
    scale_x, scale_y = image.width / network_input.shape[1], image.height / network_input.shape[0]
    return boxes * np.array([scale_x, scale_y, scale_x, scale_y], np.float32)


def resize_bilinear(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """(h, w, c) uint8 to (height, width, c): bilinear over pixel centres without antialiasing, rounded to uint8,
    which is what torch's `interpolate(mode="bilinear", align_corners=False)` computes and what detectors were
    trained on (Pillow's BILINEAR smooths when it shrinks)."""
    rows = _taps(array.shape[0], height)
    cols = _taps(array.shape[1], width)
    pixels = array.astype(np.float32)
    top = pixels[rows[0]] * rows[2][:, None, None] + pixels[rows[1]] * (1 - rows[2])[:, None, None]
    out = top[:, cols[0]] * cols[2][None, :, None] + top[:, cols[1]] * (1 - cols[2])[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _taps(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output index: the two source indices and the first one's weight."""
    position = np.maximum((np.arange(target, dtype=np.float32) + 0.5) * np.float32(source / target) - 0.5, 0)
    first = np.minimum(position.astype(np.int64), source - 1)
    second = np.minimum(first + 1, source - 1)
    return first, second, (1 - (position - first)).astype(np.float32)


def sample_picture(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth colour fields with a flat patch: closer to a photograph than noise (a detector finds something in
    it), for checking an export and timing a model."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    channels = [np.sin(x / (7 + 5 * c) + rng.uniform(0, 6)) + np.cos(y / (9 + 4 * c)) for c in range(3)]
    picture = (np.stack(channels, axis=-1) * 60 + 128).clip(0, 255).astype(np.uint8)
    picture[height // 4 : height // 2, width // 3 : 2 * width // 3] = rng.integers(0, 255, 3, dtype=np.uint8)
    return Image.fromarray(picture)
