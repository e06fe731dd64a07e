"""Benchmark: Tailor's networks on a device (the GPU path) against bare timm/torchvision loops on the same device.

What it measures
----------------
Each section runs the same work twice, Tailor's code then the loop anyone would write with timm and torchvision
alone (bfloat16 autocast on CUDA, channels-last), on the same device and images, after a warm-up of each; the ratio
is the bare loop's seconds over Tailor's (1.0: as fast; target >= 0.9 for the loops, >= 0.8 for analyze):

1. Feature extraction: `FeatureCache.features` (what the search's linear probes run on) against a bare loop of
   torchvision v2 transforms (resize, centre crop, normalise) and the timm model in batches of the same size.
2. Fine-tuning trial loop: `finetune.fine_tune` (every weight trained; its augmentation and its validation pass
   after each epoch included) against a bare loop over the same pre-resized pixels: flips, AdamW, the same epochs,
   batch size and validation pass.
3. Detector epoch: `detection.fit` (one epoch of the default recipe, its augmentation and validation mAP included)
   against a bare torchvision FCOS loop over the same images and boxes: AdamW and one pass over the validation
   images.
4. Analyze: a small classifier trained as the tests train one, served by `tailor serve` with TAILOR_DEVICES set to
   the device; p50 of one client's requests (640x480 JPEGs), against the bare decode-and-forward p50 on the device
   (benchmarks/analyze_latency.py's (a) and (b), and its target: p50 <= 1.25 x the bare one, a ratio >= 0.8).

The output names the device (the GPU's name, or the CPU and its threads) and goes to
`<out-dir>/gpu_results_<device>.json`.

How to run
----------
From the repository root, with the project's virtualenv active::

    python benchmarks/gpu.py                    # the GPU when there is one (cuda), else the CPU
    python benchmarks/gpu.py --device cuda:1
    python benchmarks/gpu.py --dry-run          # tiny sizes on the CPU: checks that every section runs (CI does)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Before torch loads, as the `tailor` command sets it for the server: this process keeps torch's threads while the
# server it starts runs analyze, and spinning ones take its cores (README, analyze latency).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

import analyze_latency

from tailor.automl.artifact import Classifier
from tailor.automl.backbones import build_backbone, get_backbone, prepare_weights
from tailor.automl.detection.data import Targets
from tailor.automl.detection.fit import DEFAULT_RECIPE, MAX_SIZE_FACTOR, fit
from tailor.automl.detection.network import build_detector
from tailor.automl.features import FeatureCache
from tailor.automl.finetune import Adaptation, Crops, FineTuneRecipe, fine_tune

DEFAULT_OUT_DIR = HERE / "data"
TARGET = 0.9  # bare seconds over Tailor's, for the loops
# Analyze answers over HTTP, which the bare forward does not: its target is analyze_latency.py's, p50 <= 1.25 x bare.
ANALYZE_TARGET = 1 / 1.25
BACKBONE = "efficientnet_lite0"
BATCH = 32  # features: the batch of the bare loop, as FeatureCache's
SIZES = {  # (feature images, fine-tuning images, epochs, detector images, analyze requests)
    "full": (512, 256, 3, 64, 200),
    "dry": (8, 8, 1, 4, 5),
}


def synced(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(work: Callable[[], object], device: torch.device) -> float:
    synced(device)
    start = time.perf_counter()
    work()
    synced(device)
    return time.perf_counter() - start


def photos(count: int, seed: int = 0) -> list[Image.Image]:
    """640x480 pictures like a phone's: textured backgrounds with a coloured disc (analyze_latency.photo)."""
    return [Image.open(io.BytesIO(analyze_latency.photo(seed + k))).convert("RGB") for k in range(count)]


def bare_autocast(device: torch.device) -> torch.autocast:
    """The bare loops' precision, written out as anyone would (not Tailor's helper): bfloat16 on CUDA."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def bare_step(optimiser: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads)"


# -- 1. features -------------------------------------------------------------------------------------------------

def features(images: list[Image.Image], weights_dir: Path, device: torch.device) -> dict[str, float]:
    from torchvision.transforms import InterpolationMode, v2

    backbone = get_backbone(BACKBONE)
    cache = FeatureCache(images, weights_dir, device)
    cache.features(backbone, backbone.input_size, flip=True)  # warm-up: the network loaded, kernels chosen
    tailor = seconds(lambda: cache.features(backbone, backbone.input_size), device)

    p = backbone.preprocess
    transform = v2.Compose([
        v2.PILToTensor(), v2.Resize(p.resize_size, interpolation=InterpolationMode(p.interpolation), antialias=True),
        v2.CenterCrop(p.input_size), v2.ToDtype(torch.float32, scale=True), v2.Normalize(p.mean, p.std),
    ])
    model = build_backbone(BACKBONE, weights_dir=weights_dir, num_classes=0).eval()
    model = model.to(device, memory_format=torch.channels_last)

    def bare() -> None:
        with torch.inference_mode(), bare_autocast(device):
            for start in range(0, len(images), BATCH):
                batch = torch.stack([transform(image) for image in images[start:start + BATCH]])
                batch = batch.to(device, memory_format=torch.channels_last, non_blocking=True)
                model(batch).float().cpu()

    bare()  # warm-up
    return {"tailor_s": tailor, "bare_s": seconds(bare, device), "images": len(images)}


# -- 2. fine-tuning ----------------------------------------------------------------------------------------------

def finetuning(images: list[Image.Image], epochs: int, weights_dir: Path, device: torch.device) -> dict[str, float]:
    backbone = get_backbone(BACKBONE)
    classes = 4
    targets = np.arange(len(images)) % classes
    rows = np.arange(len(images))
    train, valid = rows[: len(rows) * 3 // 4], rows[len(rows) * 3 // 4:]
    recipe = FineTuneRecipe(Adaptation.FULL, lr=1e-4, weight_decay=1e-4, epochs=epochs, augment=0.5,
                            label_smoothing=0.1)
    crops = Crops(images, backbone.preprocess)  # made once per search, outside the trials

    def network() -> Classifier:
        return Classifier(build_backbone(BACKBONE, weights_dir=weights_dir, num_classes=0),
                          torch.nn.Linear(backbone.feature_dim, classes))

    def tailor(run_epochs: int) -> None:
        fine_tune(network(), crops, targets, train, valid, FineTuneRecipe(**{**recipe.__dict__, "epochs": run_epochs}),
                  multilabel=False, device=device, step=lambda: None)

    size, side = backbone.input_size, crops.pixels.shape[-1]
    start = (side - size) // 2
    pixels = crops.pixels[:, :, start:start + size, start:start + size]
    mean = torch.tensor(backbone.preprocess.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(backbone.preprocess.std, device=device).view(1, 3, 1, 1)
    labels = torch.from_numpy(targets)

    def bare(run_epochs: int) -> None:
        model = network().to(device, memory_format=torch.channels_last)
        optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        loss_of = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        generator = np.random.default_rng(0)
        for _ in range(run_epochs):
            model.train()
            order = generator.permutation(train)
            for first in range(0, len(order), recipe.batch_size):
                batch_rows = order[first:first + recipe.batch_size]
                if len(batch_rows) < 2:
                    continue
                batch = pixels[batch_rows].to(device, non_blocking=True).float().div_(255)
                batch = ((batch - mean) / std).contiguous(memory_format=torch.channels_last)
                if generator.random() < 0.5:
                    batch = batch.flip(-1)
                with bare_autocast(device):
                    loss = loss_of(model(batch).float(), labels[batch_rows].to(device))
                bare_step(optimiser, loss)
            model.eval()
            with torch.inference_mode(), bare_autocast(device):
                for first in range(0, len(valid), 64):
                    batch = pixels[valid[first:first + 64]].to(device).float().div_(255)
                    torch.softmax(model(((batch - mean) / std).contiguous(memory_format=torch.channels_last)).double(),
                                  1).cpu()

    tailor(1)  # warm-ups
    bare(1)
    return {"tailor_s": seconds(lambda: tailor(epochs), device), "bare_s": seconds(lambda: bare(epochs), device),
            "images": len(images), "epochs": epochs}


# -- 3. detector epoch -------------------------------------------------------------------------------------------

def scenes(count: int, seed: int = 0) -> tuple[list[Image.Image], Targets]:
    """640x480 noisy backgrounds with 3 to 8 filled rectangles of 24 to 96 px (one class), and their boxes."""
    rng = np.random.default_rng(seed)
    images, boxes = [], []
    for _ in range(count):
        image = Image.fromarray(rng.integers(60, 200, (480, 640, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(image)
        found = []
        for _ in range(int(rng.integers(3, 9))):
            w, h = rng.integers(24, 97, 2)
            x, y = rng.integers(0, 640 - w), rng.integers(0, 480 - h)
            draw.rectangle((int(x), int(y), int(x + w - 1), int(y + h - 1)), fill=tuple(rng.integers(0, 256, 3).tolist()))
            found.append([x, y, x + w, y + h])
        images.append(image)
        boxes.append(np.array(found, dtype=np.float32))
    return images, Targets(tuple(boxes), tuple(np.zeros(len(b), dtype=np.int64) for b in boxes))


def detector_epoch(count: int, weights_dir: Path, device: torch.device) -> dict[str, float]:
    from torchvision.transforms.v2.functional import pil_to_tensor, to_dtype

    images, targets = scenes(count)
    rows = np.arange(count)
    train, valid = rows[: max(1, count * 3 // 4)], rows[max(1, count * 3 // 4):]
    recipe = DEFAULT_RECIPE
    backbone = get_backbone(recipe.backbone)

    def network():
        return build_detector(backbone, 1, min_size=recipe.min_size,
                              max_size=round(recipe.min_size * MAX_SIZE_FACTOR), weights_dir=weights_dir)

    def tailor() -> None:
        fit(network(), images, targets, train, valid, recipe, class_names=("box",), device=device,
            step=lambda: None, stop_after=1)

    tensors = [to_dtype(pil_to_tensor(image), torch.float32, scale=True) for image in images]
    wanted = [{"boxes": torch.from_numpy(b), "labels": torch.from_numpy(lab)}
              for b, lab in zip(targets.boxes, targets.labels)]

    def bare() -> None:
        model = network().to(device)
        optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe.lr,
                                      weight_decay=recipe.weight_decay)
        model.train()
        order = np.random.default_rng(0).permutation(train)
        for first in range(0, len(order), recipe.batch_size):
            chosen = order[first:first + recipe.batch_size]
            inputs = [tensors[r].to(device, non_blocking=True) for r in chosen]
            goals = [{k: v.to(device) for k, v in wanted[r].items()} for r in chosen]
            with bare_autocast(device):
                losses = model(inputs, goals)
            bare_step(optimiser, sum(part.float() for part in losses.values()))
        model.eval()
        with torch.inference_mode(), bare_autocast(device):
            for first in range(0, len(valid), 8):
                for output in model([tensors[r].to(device) for r in valid[first:first + 8]]):
                    {k: v.float().cpu() for k, v in output.items()}

    tailor()  # warm-ups
    bare()
    return {"tailor_s": seconds(tailor, device), "bare_s": seconds(bare, device), "images": count}


# -- 4. analyze --------------------------------------------------------------------------------------------------

def analyze(requests_count: int, device: torch.device, port: int) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="tailor-gpu-"))
    try:
        artifact = analyze_latency.train(root)
        jpegs = [analyze_latency.photo(seed) for seed in range(24)]
        model = analyze_latency.torch_model(artifact, str(device))
        # torch on the device against torch on the device (ONNX Runtime's CUDA provider is another package)
        server = analyze_latency.Server(root / "data", port, env={"TAILOR_DEVICES": str(device),
                                                                  "TAILOR_RUNTIME": "torch"})
        server.start()
        try:  # the bare model and analyze by http.client in turn, as analyze_latency measures them
            times = analyze_latency.sequential(server.url, jpegs, requests_count, model)
        finally:
            server.stop()
        return {"tailor_s": statistics.median(times["http.client"]), "bare_s": statistics.median(times["bare"]),
                "requests": requests_count}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="cuda, cuda:N or cpu (default: the GPU when there is one)")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes: checks that every section runs")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--weights-dir", type=Path, help="converted backbone weights (default <out-dir>/weights)")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    feature_images, tune_images, epochs, detector_images, requests_count = SIZES["dry" if args.dry_run else "full"]
    weights_dir = args.weights_dir or args.out_dir / "weights"
    prepare_weights(weights_dir)
    print(f"device: {device} = {device_name(device)}; torch {torch.__version__}; sizes "
          f"{'dry run' if args.dry_run else 'full'}", flush=True)
    pictures = photos(max(feature_images, tune_images))
    sections = {
        "features": lambda: features(pictures[:feature_images], weights_dir, device),
        "fine-tuning": lambda: finetuning(pictures[:tune_images], epochs, weights_dir, device),
        "detector epoch": lambda: detector_epoch(detector_images, weights_dir, device),
        "analyze p50": lambda: analyze(requests_count, device, args.port),
    }
    results: dict[str, dict[str, float]] = {}
    for name, run in sections.items():
        measured = run()
        measured["ratio"] = measured["bare_s"] / measured["tailor_s"]
        measured["target"] = ANALYZE_TARGET if name == "analyze p50" else TARGET
        results[name] = measured
        unit = 1000 if name == "analyze p50" else 1
        suffix = "ms" if unit == 1000 else "s"
        print(f"{name}: Tailor {measured['tailor_s'] * unit:.3f} {suffix}, bare {measured['bare_s'] * unit:.3f} "
              f"{suffix}: {measured['ratio']:.2f}x  {'PASS' if measured['ratio'] >= measured['target'] else 'FAIL'} (target {measured['target']:.2f}x)",
              flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"gpu_results_{str(device).replace(':', '')}{'_dry' if args.dry_run else ''}.json"
    out.write_text(json.dumps({"device": str(device), "device_name": device_name(device), "torch": torch.__version__,
                               "dry_run": args.dry_run, "sections": results}, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
