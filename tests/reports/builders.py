"""Predictions to build reports from: tiny sets whose every number is worked out by hand in test_data.py and
test_detection_data.py, and random ones of any size."""

from __future__ import annotations

import numpy as np

from tailor.reports import DetectionPredictions, Predictions

# Six images, three classes. Confidences sit away from the edges of the 15 reliability bins (multiples of 1/15).
#   row  true  scores (cat, dog, fox)  top-1        confidence
#   0    cat   0.70 0.20 0.10          cat  right   0.70
#   1    cat   0.18 0.62 0.20          dog  wrong   0.62
#   2    dog   0.10 0.75 0.15          dog  right   0.75
#   3    dog   0.50 0.30 0.20          cat  wrong   0.50
#   4    fox   0.10 0.15 0.75          fox  right   0.75
#   5    dog   0.05 0.05 0.90          fox  wrong   0.90
ANIMALS = ("cat", "dog", "fox")


def animals() -> Predictions:
    scores = [
        [0.70, 0.20, 0.10],
        [0.18, 0.62, 0.20],
        [0.10, 0.75, 0.15],
        [0.50, 0.30, 0.20],
        [0.10, 0.15, 0.75],
        [0.05, 0.05, 0.90],
    ]
    return Predictions(ANIMALS, False, np.array(scores), np.array([0, 0, 1, 1, 2, 1]), _names(6))


# Five images, three tags, thresholds sky 0.5, tree 0.3, water 0.7 (decided: score >= threshold).
#   row  true             scores (sky, tree, water)  decided          wrong (distance past the threshold)
#   0    sky tree         0.90 0.40 0.60             sky tree         -
#   1    water            0.20 0.35 0.80             tree water       tree +0.05
#   2    -                0.60 0.10 0.75             sky water        sky +0.10, water +0.05
#   3    sky tree water   0.45 0.20 0.30             -                sky 0.05, tree 0.10, water 0.40 short
#   4    tree water       0.10 0.90 0.62             tree             water 0.08 short
TAGS = ("sky", "tree", "water")
TAG_THRESHOLDS = (0.5, 0.3, 0.7)


def landscape(thresholds: tuple[float, ...] | None = TAG_THRESHOLDS) -> Predictions:
    scores = [
        [0.90, 0.40, 0.60],
        [0.20, 0.35, 0.80],
        [0.60, 0.10, 0.75],
        [0.45, 0.20, 0.30],
        [0.10, 0.90, 0.62],
    ]
    targets = [[1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 1]]
    return Predictions(TAGS, True, np.array(scores), np.array(targets), _names(5), thresholds=thresholds)


def random_multiclass(classes: int, images: int, *, seed: int = 0, names: tuple[str, ...] | None = None) -> Predictions:
    """Softmax scores that favour the true class, as a half-trained classifier's would."""
    generator = np.random.default_rng(seed)
    targets = np.arange(images) % classes
    logits = generator.normal(size=(images, classes))
    logits[np.arange(images), targets] += 2.0
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    class_names = names or tuple(f"class {c}" for c in range(classes))
    return Predictions(class_names, False, scores, targets, _names(images))


def random_multilabel(tags: int, images: int, *, seed: int = 0) -> Predictions:
    generator = np.random.default_rng(seed)
    targets = (generator.random((images, tags)) < 0.3).astype(int)
    scores = 1.0 / (1.0 + np.exp(-(generator.normal(size=(images, tags)) + 3.0 * (targets - 0.5))))
    return Predictions(tuple(f"tag {t}" for t in range(tags)), True, scores, targets, _names(images))


def _names(count: int) -> tuple[str, ...]:
    return tuple(f"https://example.test/images/{row}.jpg" for row in range(count))


# Detections. Four images of 640 x 480, three classes; bike has no true box. Boxes x1 y1 x2 y2.
#   image  true boxes             detections (class score: what it matches at IoU 0.5)
#   0      car A, person P        car 0.90: A exactly; person 0.80: inside P, IoU 0.6; bike 0.40: nothing
#   1      car B                  car 0.95: nothing; car 0.25: B exactly (below the 0.3 the report draws)
#   2      -                      person 0.50: nothing; car 0.10: nothing
#   3      person Q               -
STREET = ("car", "person", "bike")
CAR_A, PERSON_P, CAR_B, PERSON_Q = [10, 10, 110, 110], [200, 50, 250, 200], [300, 200, 420, 300], [50, 50, 100, 150]


def street() -> DetectionPredictions:
    return DetectionPredictions(
        STREET,
        _names(4),
        ((640, 480),) * 4,
        true_boxes=([CAR_A, PERSON_P], [CAR_B], [], [PERSON_Q]),
        true_labels=([0, 1], [0], [], [1]),
        boxes=([CAR_A, [200, 50, 250, 140], [400, 300, 450, 350]], [[0, 0, 50, 50], CAR_B],
               [[100, 100, 150, 200], [500, 10, 600, 60]], []),
        labels=([0, 1, 2], [0, 0], [1, 0], []),
        scores=([0.90, 0.80, 0.40], [0.95, 0.25], [0.50, 0.10], []),
    )


def random_detections(classes: int, images: int, *, seed: int = 0, names: tuple[str, ...] | None = None,
                      size: tuple[int, int] = (640, 480)) -> DetectionPredictions:
    """Up to 5 true boxes an image; each found, with some jitter and a score that favours good boxes, or not; and
    a few false positives."""
    generator = np.random.default_rng(seed)
    width, height = size
    true_boxes, true_labels, boxes, labels, scores = [], [], [], [], []
    for _ in range(images):
        count = int(generator.integers(0, 6))
        corner = generator.uniform([0, 0], [width * 0.7, height * 0.7], size=(count, 2))
        extent = generator.uniform([20, 20], [width * 0.3, height * 0.3], size=(count, 2))
        truth = np.hstack([corner, corner + extent])
        found = generator.random(count) < 0.8
        jitter = generator.normal(scale=0.1, size=(count, 4)) * np.hstack([extent, extent])
        false = int(generator.integers(0, 3))
        corner = generator.uniform([0, 0], [width * 0.8, height * 0.8], size=(false, 2))
        spurious = np.hstack([corner, corner + generator.uniform(10, 60, size=(false, 2))])
        detected = np.vstack([(truth + jitter)[found], spurious])
        detected[:, 2:] = np.maximum(detected[:, 2:], detected[:, :2])
        true_boxes.append(truth)
        true_labels.append(generator.integers(0, classes, size=count))
        boxes.append(detected)
        labels.append(np.concatenate([true_labels[-1][found], generator.integers(0, classes, size=false)]))
        scores.append(np.concatenate([generator.uniform(0.3, 1.0, size=int(found.sum())),
                                      generator.uniform(0.0, 0.7, size=false)]))
    return DetectionPredictions(names or tuple(f"class {c}" for c in range(classes)), _names(images),
                                (size,) * images, tuple(true_boxes), tuple(true_labels), tuple(boxes), tuple(labels),
                                tuple(scores))
