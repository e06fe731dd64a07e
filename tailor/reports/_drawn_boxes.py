"""An image's thumbnail with its boxes drawn on it (Pillow): the true boxes in green, the detections a user would see
in red, each labelled with its class and confidence."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ._detection_predictions import DetectionPredictions

SIZE = (320, 320)  # at most, so that a box and its label can be made out; a smaller thumbnail is kept as it is
TRUE_COLOUR = (0, 200, 0)
DETECTION_COLOUR = (230, 0, 0)
LABEL_COLOUR = (255, 255, 255)
LINE_WIDTH = 2
FONT_SIZE = 11
_LABEL_LENGTH = 20


def boxes_drawn(picture: Image.Image, predictions: DetectionPredictions, image: int, floor: float) -> Image.Image:
    """A copy of `picture` (the whole image, shrunk by the caller), at most SIZE, in RGB, with the image's true boxes
    and its detections scoring `floor` or more drawn on it. Boxes are in the pixels of the image's size in
    `predictions`, so they are scaled by the thumbnail's size over that."""
    small = picture.convert("RGB")  # a copy; JPEG holds no alpha or palette
    small.thumbnail(SIZE)
    width, height = predictions.image_sizes[image]
    scale = np.array([small.width / width, small.height / height] * 2)
    draw = ImageDraw.Draw(small)
    # Loaded per call: a FreeType font is not safe to share between threads that draw at once.
    font = ImageFont.load_default(size=FONT_SIZE)
    # Pillow draws an outline inside the rectangle: the true boxes' are drawn just outside theirs, so that a detection
    # on the very same pixels (its outline inside) leaves both colours in sight.
    outside = np.array([-LINE_WIDTH, -LINE_WIDTH, LINE_WIDTH, LINE_WIDTH])
    for box in predictions.true_boxes[image]:
        draw.rectangle((box * scale + outside).tolist(), outline=TRUE_COLOUR, width=LINE_WIDTH)
    scores = predictions.scores[image]
    shown = np.flatnonzero(scores >= floor)
    for detection in shown[np.argsort(scores[shown], kind="stable")]:  # the most confident drawn last, on top
        x1, y1, x2, y2 = (predictions.boxes[image][detection] * scale).tolist()
        draw.rectangle((x1, y1, x2, y2), outline=DETECTION_COLOUR, width=LINE_WIDTH)
        name = predictions.class_names[predictions.labels[image][detection]]
        text = f"{_short(name)} {scores[detection]:.2f}"
        _, _, right, bottom = draw.textbbox((0, 0), text, font=font)
        # Above the box's top-left corner, or inside it when the box touches the top of the image.
        y = y1 - (bottom + 2) if y1 >= bottom + 2 else y1
        draw.rectangle((x1, y, x1 + right + 3, y + bottom + 2), fill=DETECTION_COLOUR)
        draw.text((x1 + 2, y + 1), text, fill=LABEL_COLOUR, font=font)
    return small


def _short(name: str) -> str:
    return name if len(name) <= _LABEL_LENGTH else name[: _LABEL_LENGTH - 1] + "…"
