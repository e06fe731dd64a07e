"""Box conversions and the hand-over to pycocotools."""

from __future__ import annotations

import contextlib
import io

import msgspec
import numpy as np
import pytest
from hypothesis import given, strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tailor.coco import AnnotationKind, CocoSource, to_absolute, to_pycocotools, to_relative, validate_coco
from tailor.coco._boxes import from_pycocotools

from .builders import check, classification, detection


def test_relative_to_absolute_scales_by_each_image() -> None:
    boxes = np.array([[0.1, 0.2, 0.5, 0.25], [0.0, 0.0, 1.0, 1.0]])
    out = to_absolute(boxes, np.array([200, 10]), np.array([100, 20]))
    assert out.tolist() == [[20.0, 20.0, 100.0, 25.0], [0.0, 0.0, 10.0, 20.0]]


def test_to_relative_clips_boxes_that_overhang_by_rounding() -> None:
    rel = to_relative(np.array([[90.0, 0.0, 10.5, 20.0]]), np.array([100]), np.array([20]))
    assert rel[0, 0] + rel[0, 2] <= 1.0
    assert rel[0].tolist()[:2] == [0.9, 0.0]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 5000), st.integers(1, 5000),
            st.floats(0, 0.99), st.floats(0, 0.99), st.floats(0.001, 1), st.floats(0.001, 1),
        ),
        min_size=1, max_size=20,
    )
)
def test_relative_absolute_round_trip(rows) -> None:
    widths = np.array([r[0] for r in rows])
    heights = np.array([r[1] for r in rows])
    rel = np.array([[r[2], r[3], min(r[4], 1 - r[2]), min(r[5], 1 - r[3])] for r in rows])
    back = to_relative(to_absolute(rel, widths, heights), widths, heights)
    assert np.allclose(back, rel, atol=1e-9)


def test_pycocotools_round_trip_keeps_every_box() -> None:
    report = check(detection(4), AnnotationKind.DETECTION)
    coco_dict = to_pycocotools(report.dataset)
    for annotation in coco_dict["annotations"]:
        _x, _y, w, h = annotation["bbox"]
        assert annotation["area"] == pytest.approx(w * h)
        assert annotation["iscrowd"] == 0
    # pycocotools itself accepts it ...
    api = COCO()
    api.dataset = coco_dict
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    assert len(api.getAnnIds()) == 8 and api.loadImgs(1)[0]["width"] == 100
    # ... and back to a Tailor file, which validates to the same dataset.
    back = msgspec.json.encode(from_pycocotools(coco_dict))
    again = validate_coco([CocoSource("back.json", back)], AnnotationKind.DETECTION)
    assert again.valid, again.errors
    assert np.allclose(again.dataset.annotation_bboxes, report.dataset.annotation_bboxes)
    assert again.dataset.categories == report.dataset.categories
    assert again.dataset.annotation_categories.tolist() == report.dataset.annotation_categories.tolist()


def test_cocoeval_scores_ground_truth_against_itself_perfectly() -> None:
    report = check(detection(4), AnnotationKind.DETECTION)
    gt_dict = to_pycocotools(report.dataset)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_dict
        gt.createIndex()
        results = [dict(image_id=a["image_id"], category_id=a["category_id"], bbox=a["bbox"], score=1.0)
                   for a in gt_dict["annotations"]]
        evaluation = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[1] == pytest.approx(1.0)  # mAP@0.5


def test_classification_does_not_convert_to_pycocotools() -> None:
    with pytest.raises(ValueError, match="detection"):
        to_pycocotools(check(classification()).dataset)
