"""Boxes drawn on a thumbnail: where they are (scaled from the image's pixels to the thumbnail's), in which colour,
and which detections are drawn at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tailor.reports import DetectionPredictions, worst_detected, write_report
from tailor.reports._drawn_boxes import DETECTION_COLOUR, TRUE_COLOUR, boxes_drawn

GREY = (128, 128, 128)


def scene(size: tuple[int, int] = (400, 200)) -> DetectionPredictions:
    """One image: a true box; a sure detection elsewhere (a false positive); an unsure one (0.2) elsewhere again."""
    scale = size[0] / 400
    true_box = np.array([100, 40, 300, 160]) * scale
    sure, unsure = np.array([320, 100, 390, 190]) * scale, np.array([20, 100, 80, 190]) * scale
    return DetectionPredictions(("car",), ("a.jpg",), (size,), true_boxes=([true_box],), true_labels=([0],),
                                boxes=([sure, unsure],), labels=([0, 0],), scores=([0.9, 0.2],))


def test_boxes_are_scaled_to_the_thumbnail_and_coloured() -> None:
    # The thumbnail is the 400 x 200 image at half size: the true box falls on 50 20 150 80, the sure detection on
    # 160 50 195 95, the unsure one on 10 50 40 95.
    drawn = boxes_drawn(Image.new("RGB", (200, 100), GREY), scene(), 0, 0.3)
    assert drawn.size == (200, 100) and drawn.mode == "RGB"
    assert drawn.getpixel((49, 50)) == TRUE_COLOUR  # just outside the true box's left side
    assert drawn.getpixel((100, 81)) == TRUE_COLOUR  # just outside its bottom
    assert drawn.getpixel((52, 50)) == GREY  # inside
    assert drawn.getpixel((160, 80)) == DETECTION_COLOUR  # on the sure detection's left side
    assert drawn.getpixel((194, 80)) == DETECTION_COLOUR  # and on its right
    assert drawn.getpixel((10, 80)) == GREY and drawn.getpixel((39, 80)) == GREY  # 0.2 is under the floor
    assert drawn.getpixel((162, 45)) != GREY  # the label, above the detection


def test_the_floor_decides_what_is_drawn() -> None:
    drawn = boxes_drawn(Image.new("RGB", (200, 100), GREY), scene(), 0, 0.2)
    assert drawn.getpixel((10, 80)) == DETECTION_COLOUR  # a score equal to the floor is drawn


def test_a_large_thumbnail_is_shrunk_and_the_boxes_follow() -> None:
    # The image is 1600 x 800; the thumbnail passed is 800 x 400, shrunk to 320 x 160: a fifth of the image.
    drawn = boxes_drawn(Image.new("RGBA", (800, 400), GREY + (255,)), scene((1600, 800)), 0, 0.3)
    assert drawn.size == (320, 160) and drawn.mode == "RGB"
    assert drawn.getpixel((79, 80)) == TRUE_COLOUR  # the true box's left side at 400 / 5 = 80, drawn outside it
    assert drawn.getpixel((256, 120)) == DETECTION_COLOUR  # the detection's left side at 1280 / 5 = 256


def test_a_detection_on_a_true_box_leaves_both_in_sight() -> None:
    exact = DetectionPredictions(("car",), ("a",), ((100, 100),), ([[20, 20, 80, 80]],), ([0],),
                                 ([[20, 20, 80, 80]],), ([0],), ([0.9],))
    drawn = boxes_drawn(Image.new("RGB", (100, 100), GREY), exact, 0, 0.3)
    assert drawn.getpixel((19, 50)) == TRUE_COLOUR and drawn.getpixel((20, 50)) == DETECTION_COLOUR


def test_the_report_draws_the_thumbnails_of_its_worst_images_only(tmp_path: Path) -> None:
    predictions = scene()
    assert worst_detected(predictions) == [0]
    report = write_report(tmp_path / "report", predictions, title="t", performance={},
                          thumbnails={0: Image.new("P", (200, 100)), 7: Image.new("RGB", (10, 10))})
    assert report["worst"][0]["thumbnail"] == "thumbnail-0.jpg"
    assert report["files"] == ["precision-recall.png", "confidence.png", "thumbnail-0.jpg"]
    with Image.open(tmp_path / "report" / "thumbnail-0.jpg") as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.size == (200, 100)
        red, green, blue = thumbnail.convert("RGB").getpixel((177, 95))  # the detection's bottom, through JPEG
        assert red > 150 and green < 100 and blue < 100
