"""Loading a model for analyze, run by PyTorch (its artifact) or by ONNX Runtime (its ONNX export), as TAILOR_RUNTIME
says. `auto` measures the bare forward pass of both once per model on this host, keeps the faster and remembers the
choice in the data directory (a restart does not measure again, nor load torch for a model ONNX Runtime won).

torch is imported only by a model that needs it: one run by torch, one measured, or one whose export must be made
first. Its thread count and the device models run on (the first of TAILOR_DEVICES, else the GPU when there is one)
are set then, once. ONNX Runtime runs on the CPU, or with the CUDA provider where onnxruntime-gpu offers it.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..automl.inputs import sample_picture
from ..blobs import ArtifactStore
from ..enums import Runtime
from ..files import write_whole
from .cache import Loaded, ModelKey

log = logging.getLogger(__name__)

Exports = Callable[[str, str], bytes]  # (model name, artifact) -> its ONNX file (tailor.exports.ExportService)
MEASURED_RUNS = 5  # forward passes timed per runtime, after one unmeasured: the median is compared


class ModelLoader:
    def __init__(self, runtime: Runtime, threads: int, devices: tuple[str, ...], artifacts: ArtifactStore,
                 exports: Exports | None = None, choices: Path | None = None):
        """threads: for both runtimes. exports: None serves every model with torch. choices: the file where
        `auto` keeps what it measured (None: measured again by each process)."""
        self._runtime = runtime if exports is not None else Runtime.TORCH
        self._threads = threads
        self._devices = devices
        self._artifacts = artifacts
        self._exports = exports
        self._choices = choices
        self._device = "cpu"
        self._configured = False
        self._lock = threading.Lock()
        self.runtimes: dict[str, Runtime] = {}  # the runtime each loaded model runs on (/metrics, the tests)

    def __call__(self, key: ModelKey) -> Loaded[Any]:
        runtime = self._chosen(key) if self._runtime is Runtime.AUTO else self._runtime
        if runtime is None:
            runtime, loaded = self._measure(key)
        else:
            loaded = self._onnx(key) if runtime is Runtime.ONNXRUNTIME else self._torch(key)
        self.runtimes[key.name] = runtime
        return loaded

    # The two runtimes ------------------------------------------------------------------------------------------

    def _torch(self, key: ModelKey) -> Loaded[Any]:
        from ..automl.loading import load_model

        self._configure_torch()
        with self._artifacts.local_copy(key.artifact) as folder:
            model = load_model(folder, self._device)
        network = model.network
        nbytes = sum(t.numel() * t.element_size() for t in (*network.parameters(), *network.buffers()))
        return Loaded(model, nbytes)

    def _onnx(self, key: ModelKey) -> Loaded[Any]:
        import onnxruntime

        from ..automl.runtime import load_onnx

        assert self._exports is not None
        data = self._exports(key.name, key.artifact)
        available = onnxruntime.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        model = load_onnx(data, threads=self._threads, providers=providers)
        return Loaded(model, model.nbytes)

    def _configure_torch(self) -> None:
        with self._lock:
            if self._configured:
                return
            import torch

            from ..automl.devices import serving_device

            torch.set_num_threads(self._threads)
            self._device = serving_device(self._devices)
            self._configured = True

    # auto --------------------------------------------------------------------------------------------------

    def _measure(self, key: ModelKey) -> tuple[Runtime, Loaded[Any]]:
        """Time the forward pass of both (preparation included) on one picture; keep the faster."""
        times, loaded = {}, {}
        for runtime, load in ((Runtime.ONNXRUNTIME, self._onnx), (Runtime.TORCH, self._torch)):
            try:
                loaded[runtime] = load(key)
            except Exception:  # an export that cannot be made, say: the other runtime serves
                log.warning("model %s cannot run on %s", key.name, runtime.value, exc_info=True)
                continue
            times[runtime] = _forward_seconds(loaded[runtime].value)
        if not times:
            raise RuntimeError(f"model {key.name} runs on neither ONNX Runtime nor torch (see the log)")
        chosen = min(times, key=lambda r: times[r])
        log.info("model %s runs on %s (forward: %s)", key.name, chosen.value,
                 ", ".join(f"{r.value} {t * 1000:.1f} ms" for r, t in times.items()))
        self._remember(key, chosen, times)
        return chosen, loaded[chosen]

    def _chosen(self, key: ModelKey) -> Runtime | None:
        try:
            found = json.loads(self._choices.read_text()).get(_choice_key(key, self._devices)) if self._choices else None
            return Runtime(found["runtime"]) if found else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _remember(self, key: ModelKey, runtime: Runtime, times: dict[Runtime, float]) -> None:
        if self._choices is None:
            return
        with self._lock:
            try:
                known = json.loads(self._choices.read_text())
            except (OSError, ValueError):
                known = {}
            known[_choice_key(key, self._devices)] = {"runtime": runtime.value,
                                                      **{f"{r.value}_ms": round(t * 1000, 2) for r, t in times.items()}}
            write_whole(self._choices, json.dumps(known, indent=1))


def _choice_key(key: ModelKey, devices: tuple[str, ...]) -> str:
    return f"{key.artifact}@{key.version}@{','.join(devices) or 'default'}"


def _forward_seconds(model: Any) -> float:
    if hasattr(model, "detect"):
        picture = sample_picture(640, 480)
        run: Callable[[], Any] = lambda: model.detect([picture])
    else:
        picture = sample_picture(320, 320)
        run = lambda: model.probabilities([picture])
    run()
    times = []
    for _ in range(MEASURED_RUNS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
