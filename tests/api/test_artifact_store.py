"""Models trained on one host and served by another, with nothing shared but the database and Tailor's storage: a
container in a real Azurite (each host with a data directory of its own, empty at the start, as on separate
machines), or, on the embedded default, the data directory. A real training job, a real evaluation job, the API
over the wire."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.blobs import Access
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.enums import Runtime
from tailor.evaluations import EvaluationStatus
from tailor.models import ModelKind, ModelStatus, TrainingParameters
from tailor.settings import Settings
from tailor.workers import JobContext, run_evaluation, run_training
from tests.images import COLOURS, disc, encoded, shapes_dataset

from ..azurite import Azurite
from .conftest import Api, make_settings
from .test_analyze import SIZE, Analyzer, add_model, tags
from .test_datasets import error_of


class Hosts:
    """The settings of each host: `host("worker")`, `host("api")`... share the database and the storage."""

    def __init__(self, tmp_path: Path, storage: dict):
        self.tmp_path, self.storage = tmp_path, storage
        self.database = f"sqlite:///{tmp_path / 'tailor.db'}"  # stands in for PostgreSQL, which every host reaches

    def host(self, name: str) -> Settings:
        # On the embedded default there is one machine, so one data directory; in a container, one per host.
        root = self.tmp_path / (name if self.storage else "machine")
        root.mkdir(exist_ok=True)
        # The dataset is where every host reads it (a container, in real life).
        return make_settings(root, self.database, data_roots=[str(self.tmp_path / "data")], **self.storage)


@pytest.fixture(params=["data-directory", "container"])
def hosts(request: pytest.FixtureRequest, tmp_path: Path) -> Hosts:
    if request.param == "data-directory":
        return Hosts(tmp_path, {})
    azurite: Azurite = request.getfixturevalue("azurite")
    url = f"{azurite.blob_endpoint}/tailor-{uuid.uuid4().hex[:12]}"  # created by the first upload
    return Hosts(tmp_path, {"artifacts_url": url, "storage_connection_string": azurite.connection_string})


def stored(settings: Settings, artifact: str) -> bool:
    """Whether the artifact is in the storage the settings name (its manifest, written last, is)."""
    context = JobContext(settings)
    try:
        return context.storage.exists(f"{artifact}/manifest.json")
    finally:
        context.close()


@pytest.mark.slow
def test_a_model_trained_on_one_host_is_served_by_another(hosts: Hosts, tmp_path: Path) -> None:
    worker = JobContext(hosts.host("worker"))
    data = shapes_dataset(tmp_path / "data", classes=3, per_class=4)
    spec = DatasetSpec(AnnotationKind.CLASSIFICATION, (str(data),), {}, Access())
    worker.store.datasets.insert("shapes", spec)
    worker.store.datasets.insert("test", spec)
    worker.store.models.insert("m", TrainingParameters("shapes", 0.01, ModelKind.CLASSIFIER), None)
    assert run_training("m", worker) is ModelStatus.SUCCEEDED
    artifact = worker.store.models.get("m").artifact
    assert artifact.startswith("models/m/attempt-1-") and stored(hosts.host("worker"), artifact)
    worker.close()

    # On torch: the artifact's own local copy is what this test follows (a model served on ONNX Runtime is read
    # from its export's copy; tests/api/test_export.py follows that one).
    api_settings = hosts.host("api").model_copy(update={"runtime": Runtime.TORCH})
    if hosts.storage:
        assert not (api_settings.data_dir).exists()  # another machine: nothing of the worker's on its disk
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        analyze, api = Analyzer(client), Api(client, tmp_path)
        for k in range(3):
            assert tags(analyze(encoded(disc(COLOURS[k], SIZE)), model="m"))[0]["name"] == f"class_{k}"
        copies = [p for p in (api_settings.data_dir / "cache" / "artifacts").iterdir() if p.is_dir()]
        assert len(copies) == 1 and (copies[0] / "model.safetensors").is_file()

        # The report, from the storage: page, JSON and each file.
        described = api.call("GET", "models/m/report.json")
        assert described.status_code == 200 and "held-out" in described.json()["title"]
        page = api.call("GET", "models/m/report")
        assert page.status_code == 200 and "class_1" in page.text
        for file in described.json()["files"]:
            assert api.call("GET", f"models/m/report/{file}").status_code == 200

        # A copy damaged on this host's disk is noticed when the model is next loaded, and fetched again.
        weights = copies[0] / "model.safetensors"
        damaged = bytearray(weights.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        weights.write_bytes(bytes(damaged))
        analyze.predictions.forget("m")  # out of memory, as the least recently used would go
        assert tags(analyze(encoded(disc(COLOURS[2], SIZE)), model="m"))[0]["name"] == "class_2"
        assert (copies[0] / "model.safetensors").read_bytes() != bytes(damaged)

        # An evaluation run on a third host, with a cache of its own (recorded as the API would, but not queued to
        # this API's own runner); its report served by the API.
        evaluator = JobContext(hosts.host("evaluator"))
        evaluator.store.evaluations.insert("m", "e", "test")
        assert run_evaluation("m", "e", evaluator) is EvaluationStatus.SUCCEEDED
        evaluator.close()
        report = api.call("GET", "models/m/evaluations/e/report.json")
        assert report.status_code == 200 and report.json()["imageCount"] == 12
        assert api.call("GET", "models/m/evaluations/e/report").status_code == 200

        # Deleting the model deletes its objects, its evaluation's included, and this host's copy.
        assert api.call("DELETE", "models/m").status_code == 204
    assert not stored(api_settings, artifact) and not stored(api_settings, "models/m/evaluations/e/attempt-1")
    assert not any(p.is_dir() for p in (api_settings.data_dir / "cache" / "artifacts").iterdir())


def test_a_report_the_storage_lost_is_a_404(hosts: Hosts, shapes_model: Path) -> None:
    settings = hosts.host("api")
    artifact = add_model(settings, "m", shapes_model)  # a model without a report: its writing failed
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, settings.data_dir)
        missing = api.call("GET", "models/m/report.json")
        assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
        assert api.call("GET", "models/m/report").status_code == 404
        assert api.call("GET", "models/m/report/plot.png").status_code == 404
    assert artifact.startswith("models/m/")
