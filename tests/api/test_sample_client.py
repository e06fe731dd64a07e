"""The official Python sample client (PyPI cognitive-service-vision-model-customization-python-samples), used
unmodified against a live Tailor with COCO files in Azurite: only the endpoint and the key change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

os.environ.setdefault("TQDM_DISABLE", "1")
from cognitive_service_vision_model_customization_python_samples import (
    AnnotationKind,
    Authentication,
    AuthenticationKind,
    Dataset,
    DatasetClient,
    ResourceType,
)

from tests.coco.builders import classification, detection

from .conftest import TRAINING_KEY, LiveServer, make_settings


@pytest.fixture
def live(tmp_path: Path, azurite):
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'tailor.db'}",
        allow_hosts=[azurite.host_port],
        storage_connection_string=azurite.connection_string,
    )
    with LiveServer(settings) as server:
        yield server


def client(server: LiveServer) -> DatasetClient:
    return DatasetClient(ResourceType.MULTI_SERVICE_RESOURCE, None, server.url, TRAINING_KEY)


@pytest.mark.parametrize(
    ("kind", "make"), [(AnnotationKind.MULTICLASS_CLASSIFICATION, classification), (AnnotationKind.OBJECT_DETECTION, detection)]
)
@pytest.mark.parametrize("public", [True, False])
def test_register_query_update_delete(live: LiveServer, azurite, kind, make, public: bool) -> None:
    container = f"{kind.value.lower()}-{'public' if public else 'private'}"
    azurite.container(container, public=public)
    first = azurite.upload(container, "train.json", json.dumps(make()).encode())
    second = azurite.upload(container, "more/train2.json", json.dumps(make()).encode())
    datasets = client(live)
    name = f"set-{kind.value}-{public}"

    registered = datasets.register_dataset(
        Dataset(name, kind, [first], Authentication(AuthenticationKind.MI), custom_properties={"owner": "qa"})
    )
    assert registered.name == name and registered.annotation_kind is kind
    assert registered.annotation_file_uris == [first]
    assert registered.authentication.kind is AuthenticationKind.MI

    queried = datasets.query_dataset(name)
    assert queried.annotation_file_uris == [first] and queried.created_date_time == registered.created_date_time

    updated = datasets.update_dataset(
        Dataset(name, kind, [first, second], Authentication(AuthenticationKind.MI), custom_properties={"stage": "2"})
    )
    assert updated.annotation_file_uris == [first, second]
    raw = requests.get(
        f"{live.url}/computervision/datasets/{name}",
        params={"api-version": "2023-04-01-preview"},
        headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY},
        timeout=10,
    ).json()
    assert raw["customProperties"] == {"owner": "qa", "stage": "2"}

    datasets.delete_dataset(name)
    with pytest.raises(requests.HTTPError) as info:
        datasets.query_dataset(name)
    assert info.value.response.status_code == 404


def test_sas_authentication_reads_a_private_container(live: LiveServer, azurite) -> None:
    azurite.container("sas-only", public=False)
    uri = azurite.upload("sas-only", "train.json", json.dumps(classification()).encode())
    token = azurite.sas_for("sas-only", "train.json")
    registered = client(live).register_dataset(
        Dataset("with-sas", AnnotationKind.MULTICLASS_CLASSIFICATION, [uri], Authentication(AuthenticationKind.SAS, token))
    )
    assert registered.authentication.kind is AuthenticationKind.SAS
    assert registered.authentication.sas_token is None  # never echoed


def test_invalid_file_in_azurite_is_refused_through_the_client(live: LiveServer, azurite) -> None:
    azurite.container("broken", public=True)
    uri = azurite.upload("broken", "train.json", b'{"images": 3}')
    with pytest.raises(requests.HTTPError) as info:
        client(live).register_dataset(Dataset("broken", AnnotationKind.MULTICLASS_CLASSIFICATION, [uri]))
    response = info.value.response
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "DatasetInvalidAnnotationUri"
    assert response.headers["x-ms-error-code"] == "DatasetInvalidAnnotationUri"
