"""The official sample client's TrainingClient, unmodified, against a live Tailor training from Azurite."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")
from cognitive_service_vision_model_customization_python_samples import (
    AnnotationKind,
    Dataset,
    DatasetClient,
    Model,
    ModelKind,
    ModelStatus,
    PredictionClient,
    ResourceType,
    TrainingClient,
    TrainingParameters,
)

from tests.images import COLOURS, disc, encoded, shapes_dataset

from .conftest import PREDICTION_KEY, TRAINING_KEY, LiveServer, make_settings


@pytest.fixture
def live(tmp_path: Path, azurite):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", allow_hosts=[azurite.host_port])
    with LiveServer(settings) as server:
        yield server


def upload_shapes(azurite, tmp_path: Path, container: str, **options) -> str:
    folder = tmp_path / container
    shapes_dataset(folder, **options)
    azurite.container(container, public=True)
    for path in sorted(folder.iterdir()):
        url = azurite.upload(container, path.name, path.read_bytes())
    return url.rsplit("/", 1)[0] + "/train.json"


@pytest.mark.slow
def test_train_query_wait_and_cancel(live: LiveServer, azurite, tmp_path: Path) -> None:
    args = (ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, TRAINING_KEY)
    DatasetClient(*args).register_dataset(
        Dataset("shapes", AnnotationKind.MULTICLASS_CLASSIFICATION, [upload_shapes(azurite, tmp_path, "shapes")])
    )
    DatasetClient(*args).register_dataset(
        Dataset("noise", AnnotationKind.MULTICLASS_CLASSIFICATION,
                [upload_shapes(azurite, tmp_path, "noise", classes=4, per_class=8, learnable=False)])
    )
    training = TrainingClient(*args)

    started = training.train_model(Model("fruity", TrainingParameters("shapes", 0.01, ModelKind.GENERIC_IC)))
    assert started.status is ModelStatus.NOT_STARTED and started.training_params.model_kind is ModelKind.GENERIC_IC
    assert training.query_model("fruity").name == "fruity"
    done = training.wait_for_training_completion("fruity", check_wait_in_secs=1)
    assert done.status is ModelStatus.SUCCEEDED, done.error
    assert done.model_performance["accuracyTop1"] >= 0.9
    assert isinstance(done.training_cost_in_minutes, int) and done.training_cost_in_minutes <= 1
    # The trained model answers the sample PredictionClient, with the prediction key.
    predictions = PredictionClient(ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, PREDICTION_KEY)
    for k in range(3):
        result = predictions.predict("fruity", encoded(disc(COLOURS[k], (64, 64)), "PNG"), content_type="image/png")
        assert result["customModelResult"]["tagsResult"]["values"][0]["name"] == f"class_{k}"

    training.train_model(Model("endless", TrainingParameters("noise", 0.05, ModelKind.GENERIC_IC)))
    while training.query_model("endless").status is not ModelStatus.TRAINING:
        time.sleep(0.2)
    training.cancel_model_training("endless")
    ended = training.wait_for_training_completion("endless", check_wait_in_secs=1)
    assert ended.status is ModelStatus.CANCELLED
    training.delete_model("endless")
    training.delete_model("fruity")
