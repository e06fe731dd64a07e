"""Session fixtures (a pytest plugin, see tests/conftest.py): the converted pretrained weights, and small real models
trained once per session on generated shapes (about 10 s each on two CPU cores), for the tests that serve them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.automl.backbones import BACKBONES, prepare_weights


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only for tests: one that changes files works on a copy (see `copy_of`)."""
    weights_dir = tmp_path_factory.mktemp("weights")
    prepared = prepare_weights(weights_dir)
    # Every registered backbone must be testable: a missing offline package fails here, naming what to install.
    missing = {name: b.weights.pip_install for name, b in BACKBONES.items() if name not in prepared}
    assert not missing, f"weights packages not installed: {missing}"
    return weights_dir


def train_shapes(root: Path, weights_dir: Path, budget: float = 60.0, **options) -> Path:
    """A model trained on generated coloured discs (class_k is the k-th colour of tests.images.COLOURS); returns
    its artifact folder."""
    from tailor.automl import TrainingRequest, train_classifier
    from tailor.blobs import Access, BlobPolicy, BlobReader
    from tailor.coco import AnnotationKind, Purpose, validate_coco
    from tests.images import shapes_dataset

    reader = BlobReader(BlobPolicy.local_user())
    coco = shapes_dataset(root / "data", **options)
    report = validate_coco(
        [reader.annotation_file(str(coco), max_bytes=10**7)], AnnotationKind.CLASSIFICATION, Purpose.TRAINING
    )
    assert report.valid, report.errors
    request = TrainingRequest(report.dataset, reader.image_fetcher(Access()), budget, weights_dir, root / "model",
                              patience=2)
    return train_classifier(request).artifact_dir


@pytest.fixture(scope="session")
def shapes_model(tmp_path_factory: pytest.TempPathFactory, weights_dir: Path) -> Path:
    """Artifact folder of a 3-class single-label model (class_0 red, class_1 green, class_2 blue discs). Read-only."""
    return train_shapes(tmp_path_factory.mktemp("shapes-model"), weights_dir, classes=3, per_class=6)


@pytest.fixture(scope="session")
def multilabel_model(tmp_path_factory: pytest.TempPathFactory, weights_dir: Path) -> Path:
    """Artifact folder of a 3-tag multilabel model. Read-only."""
    return train_shapes(tmp_path_factory.mktemp("multilabel-model"), weights_dir, budget=10.0, classes=3,
                        per_class=6, multilabel=True)


def train_boxes(root: Path, weights_dir: Path, budget: float = 180.0, **options) -> Path:
    """A detector trained on generated shapes on textured backgrounds (tests.images.boxes_dataset); its artifact."""
    from tailor.automl import TrainingRequest
    from tailor.automl.detection import train_detector
    from tailor.blobs import Access, BlobPolicy, BlobReader
    from tailor.coco import AnnotationKind, Purpose, validate_coco
    from tests.images import boxes_dataset

    reader = BlobReader(BlobPolicy.local_user())
    coco, _ = boxes_dataset(root / "data", **options)
    report = validate_coco(
        [reader.annotation_file(str(coco), max_bytes=10**7)], AnnotationKind.DETECTION, Purpose.TRAINING
    )
    assert report.valid, report.errors
    request = TrainingRequest(report.dataset, reader.image_fetcher(Access()), budget, weights_dir, root / "model")
    return train_detector(request).artifact_dir


@pytest.fixture(scope="session")
def boxes_model(tmp_path_factory: pytest.TempPathFactory, weights_dir: Path) -> Path:
    """Artifact folder of a 2-class detector (red discs, green squares on grey noise). Read-only."""
    return train_boxes(tmp_path_factory.mktemp("boxes-model"), weights_dir, classes=2, per_class=12, negatives=2)
