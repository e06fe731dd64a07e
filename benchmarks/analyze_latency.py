"""Analyze latency and throughput, in one run, against the bare model, on each runtime (torch and ONNX Runtime).

    python benchmarks/analyze_latency.py [--requests 200] [--seconds 20]

1. Trains a small model with `train_classifier` on generated shapes (as the tests do) and records it, succeeded,
   in a fresh data directory; exports it to ONNX (tailor.automl.export, timed).
2. (a) bare, per runtime: in this process, decode one 640x480 JPEG (tailor.predictions.decode, what the service
   runs) and run the model on it (Predictor.probabilities, or the export's OnnxClassifier), one at a time: the
   median; and the bare batched throughput (batches of 8, decoding included; the model alone is shown too).
3. Per runtime, starts `tailor serve` (TAILOR_RUNTIME=onnxruntime, then torch) in a child process and measures
   (b) end-to-end latency, one call at a time, p50 and p99, over a keep-alive connection of Python's `http.client`
   and over a `requests` session (which spends about 0.8 ms of its own per call, in the client), interleaved call
   by call with the bare model run in this process (a), so that the machine's drift touches all three alike;
   and (c) throughput and p99 with 8 concurrent clients (keep-alive `requests` sessions, one thread each).
4. (d) Restarts the server (TAILOR_RUNTIME=auto, which measured the model on the previous start... here: its first
   start, then a restart that remembers) and times until it accepts connections with the model preloaded, and its
   first analyze call.
5. (e) A detector's bare forward pass on each runtime (FCOS over mobilenetv2_100 with its ImageNet weights and an
   untrained head: the cost, not the answers), one 640x480 image decoded and run.

Targets: end-to-end p50 (http.client) <= 1.25 x the same runtime's bare p50 measured alongside; 8-client throughput >= 0.8 x bare batched; accepting
within 2 s of a restart with a model to preload; first call after restart <= 1 s; no errors. The clients run on the
same machine as the server and share its cores.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# As the `tailor` command sets it for the server it starts (before torch loads; an explicit value wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from tailor.automl import TrainingRequest, train_classifier
from tailor.automl.backbones import prepare_weights
from tailor.blobs import Access, ArtifactStore, BlobPolicy, BlobReader, LocalStorage
from tailor.coco import AnnotationKind, Purpose, validate_coco
from tailor.models import ModelStatus, TrainingParameters
from tailor.predictions import decode
from tailor.predictions.service import usable_cpus
from tailor.store import Store
from tests.images import COLOURS, encoded, shapes_dataset

KEY = "benchmark-key"
VERSION = "2023-04-01-preview"
CLIENTS = 8


def photo(seed: int) -> bytes:
    """A 640x480 JPEG like a phone's: a textured background (noise) with a coloured disc."""
    rng = np.random.default_rng(seed)
    background = rng.integers(120, 255, (480, 640, 3), dtype=np.uint8)
    image = Image.fromarray(background)
    ImageDraw.Draw(image).ellipse((200, 120, 440, 360), fill=COLOURS[seed % 3])
    return encoded(image, "JPEG", quality=90)


def train(root: Path) -> Path:
    reader = BlobReader(BlobPolicy.local_user())
    weights = root / "data" / "weights"
    prepare_weights(weights)
    coco = shapes_dataset(root / "shapes", classes=3, per_class=8)
    report = validate_coco([reader.annotation_file(str(coco), max_bytes=10**7)], AnnotationKind.CLASSIFICATION,
                           Purpose.TRAINING)
    out = root / "work" / "shapes"
    result = train_classifier(TrainingRequest(report.dataset, reader.image_fetcher(Access()), 60.0, weights, out))
    # Kept as a worker keeps it: in the embedded default's storage, which the service copies it from.
    storage = LocalStorage(root / "data" / "storage")
    artifact = ArtifactStore(storage, root / "work" / "cache", 1 << 30).upload(out, "models/shapes/attempt-1-bench")
    store = Store.connect(f"sqlite:///{root / 'data' / 'tailor.db'}")
    store.models.insert("shapes", TrainingParameters("shapes", 60 / 3600), None)
    store.models.move("shapes", ModelStatus.NOT_STARTED, ModelStatus.SUCCEEDED, artifact=artifact)
    store.close()
    return result.artifact_dir


def torch_model(artifact: Path, device: str | None = None):
    import torch

    from tailor.automl.loading import load_model

    torch.set_num_threads(usable_cpus())  # as the service sets it
    return load_model(artifact, device)


def onnx_model(path: Path):
    from tailor.automl.runtime import load_onnx

    return load_onnx(path, threads=usable_cpus())  # as the service loads it


def bare(predictor, images: list[bytes], repeats: int, seconds: float = 5.0) -> dict[str, float]:
    side = predictor.keep_side  # the side the service decodes at for this model
    for data in images[:5]:
        bare_call(predictor, data)
    single = [bare_call(predictor, images[k % len(images)]) for k in range(repeats)]
    batch = images[:CLIENTS]
    decoded = [decode(data, keep_side=side).image for data in batch]
    rounds, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or rounds < 3:
        predictor.probabilities([decode(data, keep_side=side).image for data in batch])
        rounds += 1
    batched = rounds * len(batch) / (time.perf_counter() - start)
    rounds, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or rounds < 3:
        predictor.probabilities(decoded)
        rounds += 1
    model_only = rounds * len(batch) / (time.perf_counter() - start)
    return {"p50": statistics.median(single), "batched": batched, "model_only": model_only}


def bare_detector(root: Path, images: list[bytes], repeats: int) -> dict[str, float]:
    """A detector's forward pass, one decoded 640x480 image at a time, on each runtime: the medians."""
    from tailor.automl.backbones import BACKBONES
    from tailor.automl.detection.detector import DetectorConfig, write_detector
    from tailor.automl.detection.network import build_detector
    from tailor.automl.export import export_onnx
    from tailor.automl.images import DETECTION_KEEP_SIDE

    backbone = BACKBONES["mobilenetv2_100"]
    network = build_detector(backbone, 2, min_size=384, max_size=640, weights_dir=root / "data" / "weights")
    config = DetectorConfig(("a", "b"), backbone.name, backbone.timm_name, 384, 640, {}, {},
                            mean=backbone.preprocess.mean, std=backbone.preprocess.std)
    folder = write_detector(root / "work" / "detector", network, config)
    path = export_onnx(folder, root / "work" / "detector.onnx")
    figures = {}
    for name, model in (("onnxruntime", onnx_model(path)), ("torch", torch_model(folder))):
        pictures = [decode(data, keep_side=DETECTION_KEEP_SIDE).image for data in images[:5]]
        model.detect(pictures[:2])
        times = []
        for k in range(repeats):
            start = time.perf_counter()
            model.detect([decode(images[k % len(images)], keep_side=DETECTION_KEEP_SIDE).image])
            times.append(time.perf_counter() - start)
        figures[name] = statistics.median(times)
    return figures


class Server:
    def __init__(self, data_dir: Path, port: int, env: dict[str, str] | None = None):
        self.data_dir, self.port, self.env = data_dir, port, env or {}
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Seconds until it accepts connections (uvicorn takes requests once start-up, preloading included, ends)."""
        env = {**os.environ, "TAILOR_DATA_DIR": str(self.data_dir), "TAILOR_TRAINING_KEY": KEY,
               "TAILOR_PREDICTION_KEY": KEY + "-predict", "TAILOR_PORT": str(self.port), **self.env}
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "tailor", "serve"], env=env, cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("the server exited")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)


def analyze(session: requests.Session, url: str, data: bytes) -> float:
    start = time.perf_counter()
    response = session.post(url + "/computervision/imageanalysis:analyze",
                            params={"model-name": "shapes", "api-version": VERSION}, data=data,
                            headers={"Ocp-Apim-Subscription-Key": KEY + "-predict", "Content-Type": "image/jpeg"})
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"analyze answered {response.status_code}: {response.text[:300]}")
    return elapsed


def analyze_plain(connection: http.client.HTTPConnection, data: bytes) -> float:
    """One analyze call over a kept-alive connection of the standard library's client (little work of its own)."""
    start = time.perf_counter()
    connection.request("POST", f"/computervision/imageanalysis:analyze?model-name=shapes&api-version={VERSION}",
                       body=data, headers={"Ocp-Apim-Subscription-Key": KEY + "-predict", "Content-Type": "image/jpeg"})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"analyze answered {response.status}: {body[:300]!r}")
    return elapsed


def bare_call(predictor, data: bytes) -> float:
    start = time.perf_counter()
    predictor.probabilities([decode(data, keep_side=predictor.keep_side).image])  # as the service decodes it
    return time.perf_counter() - start


def sequential(url: str, images: list[bytes], count: int, predictor) -> dict[str, list[float]]:
    """One call at a time, in turn: the bare model in this process, analyze by http.client, analyze by requests."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    times: dict[str, list[float]] = {"bare": [], "http.client": [], "requests": []}
    with requests.Session() as session:
        for data in images[:10]:
            bare_call(predictor, data), analyze_plain(connection, data), analyze(session, url, data)
        for k in range(count):
            data = images[k % len(images)]
            times["bare"].append(bare_call(predictor, data))
            times["http.client"].append(analyze_plain(connection, data))
            times["requests"].append(analyze(session, url, data))
    connection.close()
    return times


def concurrent(url: str, images: list[bytes], seconds: float) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    go = threading.Event()
    end = [0.0]

    def client(offset: int) -> None:
        with requests.Session() as session:
            analyze(session, url, images[offset])  # connect before the clock starts
            go.wait()
            k = offset
            while time.perf_counter() < end[0]:
                try:
                    elapsed = analyze(session, url, images[k % len(images)])
                except Exception:
                    with lock:
                        errors[0] += 1
                    continue
                with lock:
                    latencies.append(elapsed)
                k += CLIENTS

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    start = time.perf_counter()
    end[0] = start + seconds
    go.set()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - start), latencies, errors[0]


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def serve_and_measure(root: Path, port: int, runtime: str, images: list[bytes], args, predictor) -> dict:
    server = Server(root / "data", port, {"TAILOR_RUNTIME": runtime})
    server.start()
    try:
        seq = sequential(server.url, images, args.requests, predictor)
        throughput, lat, errors = concurrent(server.url, images, args.seconds)
    finally:
        server.stop()
    return {"seq": seq, "throughput": throughput, "lat": lat, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tailor-analyze-"))
    images = [photo(seed) for seed in range(24)]
    checks: dict[str, bool] = {}
    try:
        print("training the model ...", flush=True)
        artifact = train(root)
        from tailor.automl.export import export_onnx

        started = time.perf_counter()
        exported = export_onnx(artifact, root / "work" / "shapes.onnx")
        print(f"exported to ONNX in {time.perf_counter() - started:.1f} s "
              f"({exported.stat().st_size / 1e6:.1f} MB)", flush=True)
        models = {"onnxruntime": onnx_model(exported), "torch": torch_model(artifact)}
        bares = {runtime: bare(model, images, args.requests) for runtime, model in models.items()}
        for runtime, a in bares.items():
            print(f"(a) {runtime} bare, one 640x480 JPEG decoded and run: p50 {a['p50'] * 1000:.1f} ms; batched by "
                  f"{CLIENTS}: {a['batched']:.1f} images/s with decoding, {a['model_only']:.1f} images/s model only "
                  f"({usable_cpus()} threads)", flush=True)
        errors = 0
        for runtime, a in bares.items():
            served = serve_and_measure(root, args.port, runtime, images, args, models[runtime])
            seq, lat = served["seq"], served["lat"]
            errors += served["errors"]
            alongside = p(seq["bare"], 50)
            print(f"(b) {runtime} one call at a time; bare alongside p50 {alongside * 1000:.1f} ms; end to end by "
                  + "; by ".join(f"{client} p50 {p(seq[client], 50) * 1000:.1f} ms, p99 {p(seq[client], 99) * 1000:.1f}"
                                 f" ms = {p(seq[client], 50) / alongside:.2f} x bare" for client in ("http.client", "requests")),
                  flush=True)
            print(f"(c) {runtime} {CLIENTS} clients: {served['throughput']:.1f} requests/s = "
                  f"{served['throughput'] / a['batched']:.2f} x bare batched ({served['throughput'] / a['model_only']:.2f}"
                  f" x model only), p50 {p(lat, 50) * 1000:.0f} ms, p99 {p(lat, 99) * 1000:.0f} ms, errors "
                  f"{served['errors']}", flush=True)
            checks[f"{runtime}: p50 <= 1.25 x its bare alongside"] = p(seq["http.client"], 50) <= 1.25 * alongside
            checks[f"{runtime}: 8-client throughput >= 0.8 x bare batched"] = served["throughput"] >= 0.8 * a["batched"]
        server = Server(root / "data", args.port, {"TAILOR_RUNTIME": "auto"})
        for attempt in ("first start (auto measures)", "restart (auto remembers)"):
            ready = server.start()
            try:
                with requests.Session() as session:
                    first = analyze(session, server.url, images[0])
            finally:
                server.stop()
            print(f"(d) {attempt}: accepting after {ready:.2f} s with the model preloaded; first call "
                  f"{first * 1000:.0f} ms", flush=True)
        checks["accepting within 2 s of a restart"] = ready <= 2.0
        checks["first call after restart <= 1 s"] = first <= 1.0
        checks["no errors"] = errors == 0
        detector = bare_detector(root, images, max(20, args.requests // 5))
        print("(e) detector bare, one 640x480 JPEG decoded and run: "
              + ", ".join(f"{runtime} p50 {t * 1000:.1f} ms" for runtime, t in detector.items()), flush=True)
        for name, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
