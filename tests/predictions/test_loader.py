"""Loading a model for analyze on torch or ONNX Runtime (tailor.predictions.loader): `onnxruntime` runs the export
without importing torch, `torch` the artifact, `auto` measures both once, keeps the faster and remembers it; an
export that cannot be made leaves the model on torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tailor.automl.export import export_onnx
from tailor.automl.inputs import sample_picture
from tailor.automl.predictor import Predictor
from tailor.automl.runtime import OnnxClassifier
from tailor.blobs import ArtifactStore, LocalStorage
from tailor.enums import Runtime
from tailor.predictions.cache import ModelKey
from tailor.predictions.loader import ModelLoader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory, shapes_model: Path) -> tuple[Path, ModelKey, bytes]:
    """The session's classifier kept in a storage folder as a worker keeps it, and its ONNX file."""
    root = tmp_path_factory.mktemp("loader")
    ArtifactStore(LocalStorage(root / "storage"), root / "cache", 1 << 30).upload(shapes_model, "models/s/attempt-1")
    onnx_file = export_onnx(shapes_model, root / "s.onnx").read_bytes()
    return root, ModelKey("s", "models/s/attempt-1", datetime(2026, 1, 1, tzinfo=UTC).isoformat()), onnx_file


def loader(root: Path, runtime: Runtime, exports, choices: Path | None = None) -> ModelLoader:
    artifacts = ArtifactStore(LocalStorage(root / "storage"), root / "cache", 1 << 30)
    return ModelLoader(runtime, 2, (), artifacts, exports, choices)


def test_each_runtime_serves_what_it_says_and_they_agree(kept) -> None:
    root, key, onnx_file = kept
    on_onnx = loader(root, Runtime.ONNXRUNTIME, lambda name, artifact: onnx_file)(key)
    on_torch = loader(root, Runtime.TORCH, lambda name, artifact: onnx_file)(key)
    assert isinstance(on_onnx.value, OnnxClassifier) and on_onnx.nbytes == len(onnx_file)
    assert isinstance(on_torch.value, Predictor) and on_torch.nbytes > 1e6
    pictures = [sample_picture(320, 240), sample_picture(90, 200, seed=3)]
    assert np.abs(on_onnx.value.probabilities(pictures) - on_torch.value.probabilities(pictures)).max() < 1e-4


def test_auto_measures_once_keeps_the_faster_and_remembers(kept, tmp_path) -> None:
    root, key, onnx_file = kept
    choices = tmp_path / "runtimes.json"
    first = loader(root, Runtime.AUTO, lambda name, artifact: onnx_file, choices)
    loaded = first(key)
    [(_, measured)] = json.loads(choices.read_text()).items()
    assert measured["onnxruntime_ms"] > 0 and measured["torch_ms"] > 0
    faster = min((Runtime.ONNXRUNTIME, Runtime.TORCH), key=lambda r: measured[f"{r.value}_ms"])
    assert measured["runtime"] == faster.value == first.runtimes["s"].value
    assert isinstance(loaded.value, OnnxClassifier if faster is Runtime.ONNXRUNTIME else Predictor)
    # A later process takes the remembered choice without measuring: here, told torch won, it serves torch.
    choices.write_text(json.dumps({k: {**v, "runtime": "torch"} for k, v in json.loads(choices.read_text()).items()}))
    again = loader(root, Runtime.AUTO, lambda name, artifact: pytest.fail("measured again"), choices)
    assert isinstance(again(key).value, Predictor) and again.runtimes["s"] is Runtime.TORCH


def test_auto_serves_on_torch_when_the_export_cannot_be_made(kept, tmp_path) -> None:
    root, key, _ = kept

    def broken(name: str, artifact: str) -> bytes:
        raise RuntimeError("the exporter failed")

    on_auto = loader(root, Runtime.AUTO, broken, tmp_path / "runtimes.json")
    assert isinstance(on_auto(key).value, Predictor) and on_auto.runtimes["s"] is Runtime.TORCH


def test_onnxruntime_serving_does_not_import_torch(kept, tmp_path) -> None:
    root, key, onnx_file = kept
    (tmp_path / "model.onnx").write_bytes(onnx_file)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from tailor.blobs import ArtifactStore, LocalStorage
        from tailor.enums import Runtime
        from tailor.automl.inputs import sample_picture
        from tailor.predictions.cache import ModelKey
        from tailor.predictions.loader import ModelLoader
        import tailor.api.app  # the whole API, as `tailor serve` imports it
        data = Path({str(tmp_path / "model.onnx")!r}).read_bytes()
        artifacts = ArtifactStore(LocalStorage(Path({str(root / "storage")!r})), Path({str(tmp_path / "c")!r}), 1 << 30)
        model = ModelLoader(Runtime.ONNXRUNTIME, 2, (), artifacts, lambda n, a: data)(ModelKey({key.name!r}, {key.artifact!r}, {key.version!r})).value
        print(model.probabilities([sample_picture(100, 100)]).shape, "torch" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(1,", "3)", "False"]
