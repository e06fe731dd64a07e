"""Run a model exported by Tailor (`tailor export`, or GET /computervision/models/{name}/export?format=onnx) without
Tailor: only numpy, Pillow and onnxruntime. Prints, for each image, the JSON analyze answers
(`customModelResult`; a detector's boxes in the original image's pixels).

    pip install numpy pillow onnxruntime
    python samples/onnx_predict.py fruit.onnx apple.jpg orange.png

Every step of the preparation below is what Tailor does before its own network (tailor/automl/images.py and
inputs.py); the file's metadata_props say which sizes to use.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import onnxruntime
from PIL import Image, ImageOps

RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
DEEP_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def prepare(opened: Image.Image, keep_side: int) -> Image.Image:
    """RGB, EXIF orientation applied, transparency over white, the shorter side at most keep_side."""
    opened.seek(0)  # an animation: its first frame
    image = opened
    if image.mode in DEEP_MODES:  # 16-bit or float greyscale: scaled to 8 bits (Pillow's own conversion clips)
        samples = np.asarray(image, dtype=np.float64)
        peak = samples.max(initial=0)
        top = 1.0 if image.mode == "F" and peak <= 1.0 else 255.0 if peak <= 255 else 65535.0
        grey = Image.fromarray(np.clip(samples * (255.0 / top), 0, 255).round().astype(np.uint8), "L")
        grey.info.update(image.info)
        if image.getexif():
            grey.info["exif"] = image.getexif().tobytes()
        image = grey
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    else:
        image = image.convert("RGB")
    width, height = image.size
    image.thumbnail((10 * keep_side, keep_side) if width > height else (keep_side, 10 * keep_side))
    return image


def classifier_input(image: Image.Image, resize: int, size: int, interpolation: str) -> np.ndarray:
    """The shorter side resized to `resize`, then the centre size x size square."""
    scale = resize / min(image.size)
    w, h = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    resized = image.resize((w, h), RESAMPLE[interpolation])
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.uint8)


def detector_input(image: Image.Image, min_size: int, max_size: int) -> np.ndarray:
    """The shorter side scaled to min_size (the longer at most max_size), rounded down; bilinear over pixel centres
    without antialiasing (as torch's interpolate), rounded to uint8."""
    scale = min(min_size / min(image.size), max_size / max(image.size))
    width, height = max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale))
    pixels = np.asarray(image, dtype=np.uint8).astype(np.float32)

    def taps(source: int, target: int):
        position = np.maximum((np.arange(target, dtype=np.float32) + 0.5) * np.float32(source / target) - 0.5, 0)
        first = np.minimum(position.astype(np.int64), source - 1)
        return first, np.minimum(first + 1, source - 1), (1 - (position - first)).astype(np.float32)

    r0, r1, rw = taps(pixels.shape[0], height)
    c0, c1, cw = taps(pixels.shape[1], width)
    rows = pixels[r0] * rw[:, None, None] + pixels[r1] * (1 - rw)[:, None, None]
    out = rows[:, c0] * cw[None, :, None] + rows[:, c1] * (1 - cw)[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def predict(session: onnxruntime.InferenceSession, path: str) -> dict:
    meta = session.get_modelmeta().custom_metadata_map
    classes = json.loads(meta["tailor.classes"])
    preparation = json.loads(meta["tailor.preparation"])
    with Image.open(path) as opened:
        turned = opened.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF orientation: a quarter turn
        width, height = (opened.height, opened.width) if turned else opened.size
        image = prepare(opened, preparation["keep_side"])
    if meta["tailor.kind"] == "Generic-Classifier":
        feeds = {spec["name"]: classifier_input(image, spec["resize"], spec["size"], spec["interpolation"])[None]
                 for spec in preparation["inputs"]}
        [probabilities] = session.run(["probabilities"], feeds)[0]
        values = [{"name": classes[k], "confidence": float(probabilities[k])} for k in np.argsort(-probabilities,
                                                                                                   kind="stable")]
        result = {"tagsResult": {"values": values}}
    else:
        array = detector_input(image, preparation["min_size"], preparation["max_size"])
        boxes, scores, labels = session.run(["boxes", "scores", "labels"], {"image": array[None]})
        # the network's input pixels -> the prepared picture's -> the image's as displayed
        in_x, in_y = image.width / array.shape[1], image.height / array.shape[0]
        boxes = boxes * np.array([in_x, in_y, in_x, in_y], np.float32)
        scale_x, scale_y = width / image.width, height / image.height
        values = []
        for (x1, y1, x2, y2), score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist()):
            left, top = max(0, round(x1 * scale_x)), max(0, round(y1 * scale_y))
            right, bottom = min(width, round(x2 * scale_x)), min(height, round(y2 * scale_y))
            values.append({"boundingBox": {"x": left, "y": top, "w": max(0, right - left), "h": max(0, bottom - top)},
                           "tags": [{"name": classes[label], "confidence": float(score)}]})
        values.sort(key=lambda v: -v["tags"][0]["confidence"])
        result = {"objectsResult": {"values": values}}
    return {"modelVersion": meta.get("tailor.version", ""), "metadata": {"width": width, "height": height},
            "customModelResult": result}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python samples/onnx_predict.py MODEL.onnx IMAGE...", file=sys.stderr)
        return 2
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(argv[0], options, providers=["CPUExecutionProvider"])
    for path in argv[1:]:
        print(json.dumps(predict(session, path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
