"""`tailor train` and `tailor analyze`, run as a user runs them, against a live Tailor (uvicorn on a free port, the
embedded default's real runner): a tiny classifier trained and watched to the end, then asked about an image."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tailor.cli import app
from tests.api.conftest import TRAINING_KEY, VERSION, LiveServer, make_settings
from tests.images import COLOURS, disc, shapes_dataset

runner = CliRunner()
train_module = importlib.import_module("tailor.cli.train")  # the module: `tailor.cli.train` is the command
BUDGET = "0.005"  # the smallest budget the API tests train to success with


class Live:
    def __init__(self, server: LiveServer, root: Path):
        self.server, self.root = server, root
        self.url = server.url
        self.http = httpx.Client(base_url=f"{server.url}/computervision", params={"api-version": VERSION},
                                 headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY}, timeout=60)

    def tailor(self, *args: str, key: str = TRAINING_KEY):
        return runner.invoke(app, [*args, "--endpoint", self.url, "--key", key], catch_exceptions=False)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("cli-live")
    settings = make_settings(tmp, f"sqlite:///{tmp / 'tailor.db'}")
    root = Path(settings.data_roots[0])
    with LiveServer(settings) as server:
        service = Live(server, root)
        coco = shapes_dataset(root / "shapes")
        body = {"annotationKind": "imageClassification", "annotationFileUris": [str(coco)]}
        assert service.http.put("datasets/shapes", json=body).status_code == 201
        yield service
        service.http.close()


@pytest.fixture(scope="module")
def trained(live: Live):
    """`tailor train shapes cli-m --watch`, once for the module: its result."""
    return live.tailor("train", "shapes", "cli-m", "--budget", BUDGET, "--watch", "--interval", "0.2")


def test_train_watch_shows_progress_and_the_final_performance(trained) -> None:
    out = trained.output
    assert trained.exit_code == 0, out
    assert "Model cli-m created: Generic-Classifier on dataset shapes, budget 0.005 h" in out
    assert "cli-m: training · " in out  # a line per phase, with trials, best score and budget used
    assert "budget " in out and "/18 s" in out and "trials " in out
    assert "✓ cli-m succeeded" in out and "accuracyTop1 " in out
    assert "class_0" in out and "class_2" in out  # the per-tag table


def test_analyze_prints_the_top_tag_and_json(live: Live, trained, tmp_path: Path) -> None:
    assert trained.exit_code == 0, trained.output
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    disc(COLOURS[0]).save(red)
    disc(COLOURS[2]).save(blue)
    result = live.tailor("analyze", "cli-m", str(red), str(blue))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{red} (640x480)"
    assert lines[2].split()[0] == "class_0"  # the first row under the header is the top tag
    blue_at = lines.index(f"{blue} (640x480)")
    assert lines[blue_at + 2].split()[0] == "class_2"
    as_json = live.tailor("analyze", "cli-m", str(red), "--json")
    assert as_json.exit_code == 0, as_json.output
    values = json.loads(as_json.stdout)[str(red)]["tagsResult"]["values"]
    assert values[0]["name"] == "class_0" and len(values) == 3


def test_a_failed_training_exits_1_with_its_code_and_message(live: Live, trained) -> None:
    result = live.tailor("train", "shapes", "cli-tiny", "--budget", "0.0001", "--watch", "--interval", "0.2")
    assert result.exit_code == 1, result.output
    assert "✗ cli-tiny failed" in result.output
    assert "error: notEnoughBudget: " in result.output and "try timeBudgetInHours of at least" in result.output


def test_analyze_of_an_unknown_model_says_the_api_error(live: Live, tmp_path: Path) -> None:
    image = tmp_path / "red.png"
    disc(COLOURS[0]).save(image)
    result = live.tailor("analyze", "no-such-model", str(image))
    assert result.exit_code == 1 and "error: 404 " in result.output


def test_an_unknown_dataset_exits_non_zero_with_the_api_message(live: Live) -> None:
    result = live.tailor("train", "no-such-dataset", "m404", "--budget", "1", "--watch")
    assert result.exit_code == 1
    assert "error: 400 " in result.output and "trainingParameters.trainingDatasetName" in result.output
    assert live.http.get("models/m404").status_code == 404


def test_a_wrong_key_exits_non_zero_with_the_401_message(live: Live, tmp_path: Path) -> None:
    result = live.tailor("train", "shapes", "m401", "--budget", "1", key="not-a-key")
    assert result.exit_code == 1
    assert "error: 401 401: Access denied due to invalid subscription key" in result.output
    image = tmp_path / "red.png"
    disc(COLOURS[0]).save(image)
    result = live.tailor("analyze", "cli-m", str(image), key="not-a-key")
    assert result.exit_code == 1 and "Access denied" in result.output


def test_ctrl_c_while_watching_leaves_the_training_running_and_says_how_to_cancel(
    live: Live, trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_pause", interrupt)
    result = live.tailor("train", "shapes", "cli-ctrl-c", "--budget", BUDGET, "--watch")
    assert result.exit_code == 130, result.output
    assert "cli-ctrl-c is still training on the server. To cancel it:" in result.output
    assert f"{live.url}/computervision/models/cli-ctrl-c:cancel?api-version=" in result.output
    assert live.http.get("models/cli-ctrl-c").json()["status"] in ("notStarted", "training")  # not cancelled
    assert live.http.post("models/cli-ctrl-c:cancel").status_code == 202
    deadline = time.monotonic() + 30
    while live.http.get("models/cli-ctrl-c").json()["status"] != "cancelled":  # the runner free for the next test
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_the_key_is_the_first_training_key_else_the_generated_one(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.cli._client import resolve_key

    monkeypatch.delenv("TAILOR_TRAINING_KEY", raising=False)
    monkeypatch.setenv("TAILOR_DATA_DIR", str(tmp_path))
    assert resolve_key(None) == ""
    (tmp_path / "training.key").write_text("generated-key\n")
    assert resolve_key(None) == "generated-key"
    monkeypatch.setenv("TAILOR_TRAINING_KEY", " first , second")
    assert resolve_key(None) == "first"
    assert resolve_key("given") == "given"


def test_detector_asks_for_a_generic_detector(live: Live) -> None:
    result = live.tailor("train", "shapes", "mdet", "--budget", "1", "--detector")
    assert result.exit_code == 1  # the dataset has no boxes: refused as a detector's, so the kind was sent
    assert "error: 400 " in result.output and "imageObjectDetection" in result.output, result.output


def test_a_detectors_boxes_are_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    analyze_module = importlib.import_module("tailor.cli.analyze")
    body = {"metadata": {"width": 640, "height": 480}, "customModelResult": {"objectsResult": {"values": [
        {"boundingBox": {"x": 10, "y": 20, "w": 30, "h": 40},
         "tags": [{"name": "square", "confidence": 0.25}, {"name": "disc", "confidence": 0.9}]}]}}}
    analyze_module._print_result("a.png", body, top=5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a.png (640x480)"
    assert lines[1].split() == ["tag", "confidence", "x", "y", "w", "h"]
    assert lines[2].split() == ["disc", "0.9000", "10", "20", "30", "40"]


def test_export_writes_the_models_onnx_file(live: Live, trained, tmp_path: Path) -> None:
    from tailor.automl.runtime import load_onnx

    result = live.tailor("export", "cli-m", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    exported = tmp_path / "out" / "cli-m.onnx"
    assert str(exported) in result.output.replace("\n", "")
    model = load_onnx(exported)
    assert model.metadata["tailor.model"] == "cli-m" and set(model.class_names) == {"class_0", "class_1", "class_2"}
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["cli-m.onnx"]  # no staging file left


def test_export_of_an_unknown_model_says_the_api_error(live: Live, tmp_path: Path) -> None:
    result = live.tailor("export", "no-such-model", "-o", str(tmp_path))
    assert result.exit_code == 1 and "error: 404 " in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_report_writes_the_models_report_with_the_generated_key(live: Live, trained, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # No --key: the key `tailor serve` would have generated in the data directory, as train and analyze find it.
    for name in ("TAILOR_KEY", "TAILOR_TRAINING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TAILOR_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "training.key").write_text(TRAINING_KEY + "\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "cli-m", "-o", str(out), "--endpoint", live.url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    described = json.loads((out / "report.json").read_text())
    assert {"report.json", "report.html", *described["files"]} == {p.name for p in out.iterdir()}
    missing = runner.invoke(app, ["report", "cli-m", "nope", "-o", str(tmp_path / "x"), "--endpoint", live.url],
                            catch_exceptions=False)
    assert missing.exit_code == 1 and "error: 404 " in missing.output, missing.output
    assert not (tmp_path / "x").exists()
