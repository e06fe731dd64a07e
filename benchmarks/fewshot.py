"""Benchmark: Tailor's budget-limited AutoML against fixed recipes, few-shot, on real images (Fashion-MNIST).

What it measures
----------------
Data: Fashion-MNIST from Debian's `dataset-fashion-mnist` package (`apt-get install -y dataset-fashion-mnist`;
idx files under /usr/share/datasets/fashion-mnist). The 28x28 grayscale images are upscaled (bicubic) to 64x64 RGB
PNGs, so that they also meet the evaluation quota's 50 px minimum side. With fixed seeds we draw:

* 2-, 5- and 10-shot training sets (that many images per class, all 10 classes) from the TRAIN split;
* one test set, 50 images per class (500), from the TEST split, shared by every run.

Each set is written as a folder of PNGs plus a COCO classification file whose `absolute_url`s are relative
references (resolved against the file), validated with `tailor.coco.validate_coco` (training quotas for the
training sets, evaluation quotas for the test set; any error stops the run) and loaded through `BlobReader`, as the
service would.

For each shot count, every method gets the SAME budget of compute seconds (default 90; `--quick`: 2- and 5-shot at
30 s):

* AutoML: `train_classifier(TrainingRequest(...))`, timed from call to return (wall clock) and billed as
  `result.billed_seconds`. Its exported model is rebuilt from the artifact folder alone by `tailor.automl.predictor.Predictor`
  (what serves it) and scored on the test set.
* Fixed recipe (a), one per available backbone: scikit-learn logistic regression (C=1, lbfgs) on the raw frozen
  pooled features at the backbone's default input size. Its billed cost is the measured compute time of network
  load + training-set feature extraction + fit.
* Fixed recipe (b): a standard full fine-tune of efficientnet_lite0 (fresh 10-class head) at 224 px: AdamW lr 2e-4,
  batch 16, random horizontal flips, label smoothing 0.1, stepped until the budget is used (a step is only started
  when 1.2 x the longest step so far, the first excepted, still fits, so the loop never exceeds the budget). Billed: the loop's wall time,
  network load and preprocessing included.
* Oracle: the best fixed recipe, chosen on the test set (an upper bound no honest recipe can pick).

Test-set features of the fixed recipes (a) are computed once per backbone and reused across shot counts; the
AutoML model and the fine-tuned model are each evaluated end to end. Test-set time is never billed.

Throughput: images/s of Tailor's feature extraction (`FeatureCache.features`, efficientnet_lite0 at 224, over the
10-shot set, PIL preprocessing included) against a bare forward loop of the same timm model (`tf_efficientnet_lite0`, same pretrained weights)
over as many random tensors at the same batch size, and over the same images preprocessed beforehand (on this CPU
the network is slower on noise than on real images, so the target uses the faster bare loop; best of 5 each,
interleaved); and the training images/s of Tailor's fine-tuning trial loop (`finetune.fine_tune`, full adaptation,
batch 16, augmentation included) against a bare timm train loop (AdamW, cross-entropy) on the same network, batch
and images (best of 3, steps timed alike).

Targets (PASS/FAIL): per shot count, AutoML >= every fixed recipe, and AutoML within 1 point of the oracle; every
run billed <= budget; AutoML wall clock <= 1.05 x budget + 30 s; feature extraction and the fine-tuning loop each
>= 0.9x the faster bare timm loop.
Results go to `<out-dir>/fewshot_results.json`.

How to run
----------
From the repository root, with the project's virtualenv active (about 15-20 minutes on 2 CPU cores)::

    python benchmarks/fewshot.py                  # 2, 5 and 10 shots at 90 s each
    python benchmarks/fewshot.py --quick          # 2 and 5 shots at 30 s: a smoke run
    python benchmarks/fewshot.py --budget-seconds 120 --shots 5 10
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
from _provenance import code_version
from PIL import Image
from sklearn.linear_model import LogisticRegression
from torch import nn

from tailor.automl import TrainingFailed, TrainingRequest, train_classifier
from tailor.automl.artifact import Classifier
from tailor.automl.backbones import Backbone, available_backbones, build_backbone, get_backbone, prepare_weights
from tailor.automl.features import BATCH, FeatureCache, to_tensor
from tailor.automl.finetune import Adaptation, Crops, FineTuneRecipe, fine_tune
from tailor.automl.images import load_images
from tailor.automl.predictor import Predictor
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, CocoDataset, Purpose, validate_coco

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "data"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
SEED = 20240601
DEFAULT_SHOTS = (2, 5, 10)
QUICK_SHOTS = (2, 5)
DEFAULT_BUDGET = 90.0
QUICK_BUDGET = 30.0
TEST_PER_CLASS = 50
IMAGE_SIDE = 64  # >= 50 px, the evaluation quota's minimum side
MAX_ANNOTATION_BYTES = 16 * 1024 * 1024

# Fixed recipe (a): logistic regression on frozen features.
LOGREG_C = 1.0
LOGREG_MAX_ITER = 5000
# Fixed recipe (b): full fine-tune.
FINETUNE_BACKBONE = "efficientnet_lite0"
FINETUNE_SIZE = 224
FINETUNE_BATCH = 16
FINETUNE_LR = 2e-4
FINETUNE_WEIGHT_DECAY = 0.01
FINETUNE_LABEL_SMOOTHING = 0.1
STEP_SAFETY = 1.2  # a step starts only when 1.2 x the longest step so far (bar the first) still fits

# Throughput.
THROUGHPUT_BACKBONE = "efficientnet_lite0"
THROUGHPUT_SIZE = 224
THROUGHPUT_REPEATS = 5
TRAIN_EPOCHS = 2
TRAIN_REPEATS = 2
TRAIN_IMAGES = 48  # of the 10-shot set: 3 batches an epoch (CPU training is slow)

# Targets.
ORACLE_GAP_POINTS = 1.0
WALL_FACTOR, WALL_SLACK_SECONDS = 1.05, 30.0
THROUGHPUT_RATIO_TARGET = 0.9


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An idx file (gzipped): big-endian magic (0, 0, dtype 0x08 = uint8, ndim), ndim sizes, then the data."""
    data = gzip.decompress(path.read_bytes())
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 28, 28), labels (n,)) of 'train' or 't10k'."""
    images = read_idx(FASHION_DIR / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(FASHION_DIR / f"{split}-labels-idx1-ubyte.gz")
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def sample_per_class(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """`per_class` indices of every class, drawn without replacement with a fixed seed, sorted."""
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(len(CLASS_NAMES))]
    return np.sort(np.concatenate(picked))


def folder_name(class_name: str) -> str:
    return class_name.lower().replace("/", "_").replace(" ", "_")


def write_split(out_dir: Path, name: str, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> Path:
    """PNGs under out_dir/name/<class>/, and out_dir/name.json whose absolute_urls are relative to it."""
    folder = out_dir / name
    if folder.exists():
        shutil.rmtree(folder)
    coco: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": c + 1, "name": n} for c, n in enumerate(CLASS_NAMES)],
    }
    for k, index in enumerate(indices.tolist(), start=1):
        label = int(labels[index])
        relative = f"{name}/{folder_name(CLASS_NAMES[label])}/{index:05d}.png"
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(images[index]).resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BICUBIC)
        image.convert("RGB").save(path)
        coco["images"].append(
            {"id": k, "width": IMAGE_SIDE, "height": IMAGE_SIDE, "file_name": relative, "absolute_url": relative}
        )
        coco["annotations"].append({"id": k, "image_id": k, "category_id": label + 1})
    annotation_file = out_dir / f"{name}.json"
    annotation_file.write_text(json.dumps(coco), encoding="utf-8")
    return annotation_file


def load_dataset(reader: BlobReader, annotation_file: Path, purpose: Purpose) -> CocoDataset:
    """Read as the CLI would (relative URLs resolve against the file) and validate; invalid stops the run."""
    source = reader.annotation_file(str(annotation_file), max_bytes=MAX_ANNOTATION_BYTES)
    report = validate_coco([source], AnnotationKind.CLASSIFICATION, purpose)
    if not report.valid:
        shown = "; ".join(f"{p.path}: {p.message}" for p in report.errors[:5])
        raise SystemExit(f"{annotation_file} is not valid for {purpose.value}: {shown}")
    return report.dataset


def targets_of(dataset: CocoDataset) -> np.ndarray:
    """Class index (into CLASS_NAMES) per image row; one annotation per image."""
    by_name = {n: c for c, n in enumerate(CLASS_NAMES)}
    targets = np.full(dataset.num_images, -1)
    targets[dataset.annotation_images] = [by_name[dataset.categories[c]] for c in dataset.annotation_categories]
    assert (targets >= 0).all(), "an image without a label"
    return targets


@dataclasses.dataclass
class Split:
    name: str
    annotation_file: Path
    dataset: CocoDataset
    images: list[Image.Image]  # decoded as train_classifier decodes them (tailor.automl.images.load_images)
    targets: np.ndarray


def build_split(reader, fetch, out_dir, name, images, labels, indices, purpose) -> Split:
    annotation_file = write_split(out_dir, name, images, labels, indices)
    dataset = load_dataset(reader, annotation_file, purpose)
    return Split(name, annotation_file, dataset, load_images(dataset.image_urls, fetch), targets_of(dataset))


# --------------------------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------------------------


def predict(model: nn.Module, images: list[Image.Image], preprocess) -> np.ndarray:
    model.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(images), BATCH):
            parts.append(model(to_tensor(images[start : start + BATCH], preprocess)).argmax(1).numpy())
    return np.concatenate(parts)


def top1(predicted: np.ndarray, targets: np.ndarray) -> float:
    return float((predicted == targets).mean() * 100)


def run_automl(train: Split, test: Split, budget: float, weights_dir: Path, model_dir: Path) -> dict[str, Any]:
    if model_dir.exists():
        shutil.rmtree(model_dir)
    fetch = BlobReader(BlobPolicy.local_user()).image_fetcher(Access())
    request = TrainingRequest(train.dataset, fetch, budget, weights_dir, model_dir)
    started = time.monotonic()
    try:
        result = train_classifier(request)
    except TrainingFailed as failure:
        wall = time.monotonic() - started
        return {"method": "automl", "failed": f"{failure}", "billed_seconds": failure.billed_seconds,
                "wall_seconds": wall, "top1": None}
    wall = time.monotonic() - started
    evaluated = evaluate_artifact(result.artifact_dir, test)
    return {
        "method": "automl",
        "top1": evaluated["top1"],
        "billed_seconds": result.billed_seconds,
        "wall_seconds": wall,
        "eval_seconds": evaluated["seconds"],
        "trials": result.trials,
        "validation_score": result.best_score,
        "members": evaluated["members"],
        "artifact_dir": str(result.artifact_dir),
    }


def evaluate_artifact(artifact_dir: Path, test: Split) -> dict[str, Any]:
    """Rebuild the exported model from its folder alone (config.json + model.safetensors, no weights directory)
    through the predictor that serves it, and score it on the test set."""
    started = time.monotonic()
    predictor = Predictor.load(artifact_dir, device="cpu")
    outputs = np.concatenate([
        predictor.probabilities(test.images[start : start + BATCH]).argmax(1)
        for start in range(0, len(test.images), BATCH)
    ])
    by_name = {n: c for c, n in enumerate(CLASS_NAMES)}
    predicted = np.array([by_name[predictor.class_names[o]] for o in outputs.tolist()])
    members = predictor.config.members
    return {
        "top1": top1(predicted, test.targets),
        "seconds": time.monotonic() - started,
        "members": [
            {"backbone": m.backbone, "input_size": m.preprocess.input_size, "recipe": m.recipe} for m in members
        ],
    }


class TestFeatures:
    """Test-set features per backbone at its default size, computed once and shared by every shot count."""

    def __init__(self, test: Split, weights_dir: Path):
        self._cache = FeatureCache(test.images, weights_dir, torch.device("cpu"))
        self.seconds = 0.0

    def of(self, backbone: Backbone) -> np.ndarray:
        started = time.monotonic()
        features = self._cache.features(backbone, backbone.input_size)
        self.seconds += time.monotonic() - started
        return features


def run_logreg(train: Split, test: Split, backbone: Backbone, weights_dir: Path, test_features: TestFeatures):
    started = time.monotonic()
    cache = FeatureCache(train.images, weights_dir, torch.device("cpu"))  # network load is billed too
    features = cache.features(backbone, backbone.input_size)
    model = LogisticRegression(C=LOGREG_C, max_iter=LOGREG_MAX_ITER)
    model.fit(features, train.targets)
    billed = time.monotonic() - started
    predicted = model.predict(test_features.of(backbone))
    return {
        "method": f"logreg:{backbone.name}",
        "backbone": backbone.name,
        "input_size": backbone.input_size,
        "top1": top1(predicted, test.targets),
        "billed_seconds": billed,
        "wall_seconds": billed,
    }


def run_finetune(train: Split, test: Split, budget: float, weights_dir: Path, seed: int) -> dict[str, Any]:
    """Full fine-tune until the budget is used; never starts a step that the longest step so far says won't fit."""
    started = time.monotonic()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    backbone = get_backbone(FINETUNE_BACKBONE)
    preprocess = dataclasses.replace(backbone.preprocess, input_size=FINETUNE_SIZE)
    model = build_backbone(FINETUNE_BACKBONE, weights_dir=weights_dir, num_classes=len(CLASS_NAMES)).train()
    images = torch.stack([to_tensor(train.images, preprocess), to_tensor(train.images, preprocess, flip=True)])
    targets = torch.from_numpy(train.targets).long()
    optimiser = torch.optim.AdamW(model.parameters(), lr=FINETUNE_LR, weight_decay=FINETUNE_WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=FINETUNE_LABEL_SMOOTHING)
    order: list[int] = []
    step_times: list[float] = []
    seen = 0
    while True:
        elapsed = time.monotonic() - started
        # The first step carries one-off warm-up costs; the longest of the others predicts the next one.
        predicted_step = STEP_SAFETY * max(step_times[1:] or step_times) if step_times else 0.1 * budget
        if elapsed + predicted_step > budget:
            break
        step_start = time.monotonic()
        while len(order) < FINETUNE_BATCH:  # a stream of epochs, so that every batch is full
            order.extend(rng.permutation(len(targets)).tolist())
        batch, order = order[:FINETUNE_BATCH], order[FINETUNE_BATCH:]
        flips = torch.from_numpy(rng.integers(0, 2, len(batch)))
        x = images[flips, torch.tensor(batch)]
        optimiser.zero_grad()
        loss = loss_fn(model(x), targets[batch])
        loss.backward()
        optimiser.step()
        seen += len(batch)
        step_times.append(time.monotonic() - step_start)
    billed = time.monotonic() - started
    eval_started = time.monotonic()
    predicted = predict(model, test.images, preprocess) if step_times else np.full(len(test.targets), -1)
    steady = step_times[1:] or step_times
    return {
        "method": f"finetune:{FINETUNE_BACKBONE}",
        "backbone": FINETUNE_BACKBONE,
        "input_size": FINETUNE_SIZE,
        "top1": top1(predicted, test.targets),
        "billed_seconds": billed,
        "wall_seconds": billed,
        "eval_seconds": time.monotonic() - eval_started,
        "steps": len(step_times),
        "epochs": seen / len(targets),
        "median_step_seconds": statistics.median(steady) if steady else None,
        "images_per_second": FINETUNE_BATCH / statistics.median(steady) if steady else None,
    }


# --------------------------------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------------------------------


def measure_throughput(train: Split, weights_dir: Path) -> dict[str, Any]:
    """Tailor's FeatureCache.features vs a bare timm forward loop (same network, batch and image count).

    The bare loop is fed random tensors (as asked) and, separately, the same images already preprocessed (not
    timed): on this CPU the network runs measurably slower on N(0, 1) noise than on real images, so the noise alone
    would flatter Tailor. The target is checked against the faster of the two bare loops."""
    backbone = get_backbone(THROUGHPUT_BACKBONE)
    n = len(train.images)
    # The same model: the same timm network with the same pretrained weights (weights change CPU speed a little).
    bare = build_backbone(backbone.name, weights_dir=weights_dir).eval()
    random_inputs = torch.randn(n, 3, THROUGHPUT_SIZE, THROUGHPUT_SIZE)
    real_inputs = to_tensor(train.images, dataclasses.replace(backbone.preprocess, input_size=THROUGHPUT_SIZE))

    def bare_rate(inputs: torch.Tensor) -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            for start in range(0, n, BATCH):
                bare(inputs[start : start + BATCH])
        return n / (time.perf_counter() - started)

    def tailor_rate() -> float:
        cache = FeatureCache(train.images, weights_dir, torch.device("cpu"))
        cache.model(backbone)  # the network load is not part of the loop being timed
        started = time.perf_counter()
        cache.features(backbone, THROUGHPUT_SIZE)
        return n / (time.perf_counter() - started)

    bare_rate(random_inputs), bare_rate(real_inputs), tailor_rate()  # warm-ups
    rates: dict[str, list[float]] = {"tailor": [], "bare_random": [], "bare_same_images": []}
    for _ in range(THROUGHPUT_REPEATS):  # interleaved, so that a noisy moment hurts all three alike
        rates["tailor"].append(tailor_rate())
        rates["bare_random"].append(bare_rate(random_inputs))
        rates["bare_same_images"].append(bare_rate(real_inputs))
    best = {name: max(values) for name, values in rates.items()}

    # Training: Tailor's fine-tuning trial loop (finetune.fine_tune, full adaptation, augmentation included) vs a
    # bare timm train loop (AdamW, cross-entropy) on the same network, batch size and images, steps timed alike.
    preprocess = dataclasses.replace(backbone.preprocess, input_size=THROUGHPUT_SIZE)
    m = min(n, TRAIN_IMAGES)
    crops = Crops(train.images[:m], preprocess)
    rows = np.arange(m)
    recipe = FineTuneRecipe(Adaptation.FULL, lr=FINETUNE_LR, weight_decay=FINETUNE_WEIGHT_DECAY, epochs=TRAIN_EPOCHS,
                            augment=0.5, label_smoothing=FINETUNE_LABEL_SMOOTHING, batch_size=FINETUNE_BATCH)

    def tailor_train_rate() -> float:
        network = Classifier(build_backbone(backbone.name, weights_dir=weights_dir),
                             nn.Linear(backbone.feature_dim, len(CLASS_NAMES)))
        result = fine_tune(network, crops, train.targets[:m], rows, rows[:0], recipe, multilabel=False,
                           device=torch.device("cpu"), step=lambda: None)
        return result.train_images_per_second

    def bare_train_rate(inputs: torch.Tensor) -> float:
        model = build_backbone(backbone.name, weights_dir=weights_dir, num_classes=len(CLASS_NAMES)).train()
        optimiser = torch.optim.AdamW(model.parameters(), lr=FINETUNE_LR, weight_decay=FINETUNE_WEIGHT_DECAY)
        y = torch.from_numpy(train.targets[:m]).long()
        seconds = 0.0
        for _ in range(TRAIN_EPOCHS):
            for start in range(0, m, FINETUNE_BATCH):
                began = time.perf_counter()
                optimiser.zero_grad()
                nn.functional.cross_entropy(model(inputs[start : start + FINETUNE_BATCH]), y[start : start + FINETUNE_BATCH]).backward()
                optimiser.step()
                seconds += time.perf_counter() - began
        return TRAIN_EPOCHS * m / seconds

    train_rates: dict[str, list[float]] = {"tailor": [], "bare_random": [], "bare_same_images": []}
    for _ in range(TRAIN_REPEATS):
        train_rates["tailor"].append(tailor_train_rate())
        train_rates["bare_random"].append(bare_train_rate(random_inputs))
        train_rates["bare_same_images"].append(bare_train_rate(real_inputs))
    best_train = {name: max(values) for name, values in train_rates.items()}
    return {
        "backbone": backbone.name,
        "input_size": THROUGHPUT_SIZE,
        "images": n,
        "batch": BATCH,
        "tailor_features_images_per_second": best["tailor"],
        "bare_timm_forward_random_images_per_second": best["bare_random"],
        "bare_timm_forward_same_images_per_second": best["bare_same_images"],
        "ratio_vs_random": best["tailor"] / best["bare_random"],
        "ratio_vs_same_images": best["tailor"] / best["bare_same_images"],
        "ratio": best["tailor"] / max(best["bare_random"], best["bare_same_images"]),
        "all_rates": rates,
        "train_images": m,
        "tailor_train_images_per_second": best_train["tailor"],
        "bare_train_random_images_per_second": best_train["bare_random"],
        "bare_train_same_images_per_second": best_train["bare_same_images"],
        "train_ratio": best_train["tailor"] / max(best_train["bare_random"], best_train["bare_same_images"]),
        "all_train_rates": train_rates,
    }


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def fixed_of(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r["method"] != "automl"]


def oracle_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return max(fixed_of(runs), key=lambda r: r["top1"])


def method_label(run: dict[str, Any]) -> str:
    if run["method"] == "automl":
        return "AutoML" if run["top1"] is not None else "AutoML (failed)"
    kind, name = run["method"].split(":")
    return f"(a) logreg {name}" if kind == "logreg" else f"(b) fine-tune {name}"


def detail(run: dict[str, Any]) -> str:
    if run["method"] == "automl":
        if run["top1"] is None:
            return run["failed"][:60]
        members = " + ".join(
            f"{m['backbone']}@{m['input_size']} {m['recipe']['adaptation']}" for m in run["members"]
        )
        return f"{members}; {run['trials']} trials, validation {run['validation_score']:.3f}"
    if run["method"].startswith("finetune"):
        return f"@{run['input_size']}, {run['steps']} steps, {run['epochs']:.1f} epochs"
    return f"@{run['input_size']}"


def format_table(results: dict[int, list[dict[str, Any]]], budget: float) -> str:
    header = ["shots", "method", "top-1 %", "billed s", "wall s", "<= budget", "detail"]
    rows = [header]
    for shots, runs in results.items():
        oracle = oracle_of(runs)
        for run in runs:
            top = "-" if run["top1"] is None else f"{run['top1']:.1f}"
            rows.append([
                str(shots), method_label(run), top, f"{run['billed_seconds']:.1f}", f"{run['wall_seconds']:.1f}",
                "yes" if run["billed_seconds"] <= budget else "NO", detail(run),
            ])
        rows.append([str(shots), "oracle (best fixed, on test)", f"{oracle['top1']:.1f}", "", "", "",
                     method_label(oracle)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    left = {1, 6}  # text columns; numbers right-aligned
    lines = [
        "  ".join(cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        .rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def targets(results: dict[int, list[dict[str, Any]]], budget: float, throughput: dict[str, Any]) -> list[dict]:
    checks = []
    for shots, runs in results.items():
        automl = runs[0]
        fixed = fixed_of(runs)
        oracle = oracle_of(runs)
        score = automl["top1"] if automl["top1"] is not None else -1.0
        best_fixed = max(r["top1"] for r in fixed)
        checks.append({
            "name": f"{shots}-shot: AutoML >= every fixed recipe",
            "ok": score >= best_fixed,
            "value": f"AutoML {score:.1f} vs best fixed {best_fixed:.1f} ({score - best_fixed:+.1f} pts)",
        })
        checks.append({
            "name": f"{shots}-shot: AutoML within {ORACLE_GAP_POINTS:.0f} pt of the oracle",
            "ok": oracle["top1"] - score <= ORACLE_GAP_POINTS,
            "value": f"gap {oracle['top1'] - score:+.1f} pts ({method_label(oracle)})",
        })
        worst = max(runs, key=lambda r: r["billed_seconds"])
        checks.append({
            "name": f"{shots}-shot: every run billed <= budget {budget:.0f} s",
            "ok": all(r["billed_seconds"] <= budget for r in runs),
            "value": f"max {worst['billed_seconds']:.1f} s ({method_label(worst)})",
        })
        limit = WALL_FACTOR * budget + WALL_SLACK_SECONDS
        checks.append({
            "name": f"{shots}-shot: AutoML wall clock <= {WALL_FACTOR} x budget + {WALL_SLACK_SECONDS:.0f} s",
            "ok": automl["wall_seconds"] <= limit,
            "value": f"{automl['wall_seconds']:.1f} s <= {limit:.1f} s",
        })
    checks.append({
        "name": f"feature extraction >= {THROUGHPUT_RATIO_TARGET} x bare timm forward",
        "ok": throughput["ratio"] >= THROUGHPUT_RATIO_TARGET,
        "value": (
            f"{throughput['tailor_features_images_per_second']:.1f} img/s vs the faster bare loop "
            f"{throughput['tailor_features_images_per_second'] / throughput['ratio']:.1f} img/s = "
            f"{throughput['ratio']:.2f}x"
        ),
    })
    checks.append({
        "name": f"fine-tuning trial loop >= {THROUGHPUT_RATIO_TARGET} x bare timm train loop",
        "ok": throughput["train_ratio"] >= THROUGHPUT_RATIO_TARGET,
        "value": f"{throughput['tailor_train_images_per_second']:.1f} img/s = {throughput['train_ratio']:.2f}x",
    })
    return checks


def throughput_lines(throughput: dict[str, Any], results: dict[int, list[dict[str, Any]]]) -> list[str]:
    t = throughput
    lines = [
        (f"feature extraction, {t['backbone']}@{t['input_size']}, {t['images']} images, batch {t['batch']} (best of "
        f"{THROUGHPUT_REPEATS}): Tailor FeatureCache {t['tailor_features_images_per_second']:.1f} img/s (PIL "
        f"preprocessing included); bare timm forward on random tensors "
        f"{t['bare_timm_forward_random_images_per_second']:.1f} img/s ({t['ratio_vs_random']:.2f}x), on the same "
        f"images preprocessed {t['bare_timm_forward_same_images_per_second']:.1f} img/s "
        f"({t['ratio_vs_same_images']:.2f}x)"),
    ]
    lines.append(
        f"training, {t['backbone']}@{t['input_size']}, batch {FINETUNE_BATCH}, {TRAIN_EPOCHS} epochs over "
        f"{t['train_images']} images (best of {TRAIN_REPEATS}): Tailor's fine-tuning loop "
        f"{t['tailor_train_images_per_second']:.1f} img/s (augmentation included); bare timm train loop on random "
        f"tensors {t['bare_train_random_images_per_second']:.1f} img/s, on the same images preprocessed "
        f"{t['bare_train_same_images_per_second']:.1f} img/s: {t['train_ratio']:.2f}x the faster"
    )
    return lines


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where data, models and results go")
    parser.add_argument("--weights-dir", type=Path, help="converted backbone weights (default <out-dir>/weights)")
    parser.add_argument("--budget-seconds", type=float, help=f"per run (default {DEFAULT_BUDGET:.0f})")
    parser.add_argument("--shots", type=int, nargs="+", help=f"shot counts (default {DEFAULT_SHOTS})")
    parser.add_argument("--test-per-class", type=int, default=TEST_PER_CLASS)
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: {QUICK_SHOTS} shots at {QUICK_BUDGET:.0f} s"
    )
    parser.add_argument("--throughput-only", action="store_true", help="only the throughput measurements")
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> None:
    run_started = time.monotonic()
    budget = args.budget_seconds or (QUICK_BUDGET if args.quick else DEFAULT_BUDGET)
    shot_counts = tuple(args.shots or (QUICK_SHOTS if args.quick else DEFAULT_SHOTS))
    work = args.out_dir / "fewshot"
    work.mkdir(parents=True, exist_ok=True)
    weights_dir = args.weights_dir or args.out_dir / "weights"
    prepare_weights(weights_dir)
    backbones = available_backbones(weights_dir)
    load_before = os.getloadavg()
    print(f"backbones: {', '.join(b.name for b in backbones)}; budget {budget:.0f} s; shots {shot_counts}; "
          f"torch threads {torch.get_num_threads()}; tailor {code_version()}; load {load_before[0]:.2f}", flush=True)

    reader = BlobReader(BlobPolicy.local_user())
    fetch = reader.image_fetcher(Access())
    train_images, train_labels = load_split("train")
    test_images, test_labels = load_split("t10k")
    test_indices = sample_per_class(test_labels, args.test_per_class, SEED)
    test = build_split(reader, fetch, work, "test", test_images, test_labels, test_indices, Purpose.EVALUATION)
    splits = {}
    for shots in sorted(set(shot_counts) | {10}):  # the 10-shot set also serves the throughput measurement
        indices = sample_per_class(train_labels, shots, SEED + shots)
        splits[shots] = build_split(
            reader, fetch, work, f"train_{shots}shot", train_images, train_labels, indices, Purpose.TRAINING
        )
    print(f"data: test {len(test.images)} images; training sets "
          + ", ".join(f"{s}-shot {len(splits[s].images)}" for s in splits) + f" ({IMAGE_SIDE}px PNG, valid)",
          flush=True)

    test_features = TestFeatures(test, weights_dir)
    results: dict[int, list[dict[str, Any]]] = {}
    for shots in [] if args.throughput_only else shot_counts:
        train = splits[shots]
        print(f"{shots}-shot: AutoML ...", flush=True)
        runs = [run_automl(train, test, budget, weights_dir, work / "models" / f"automl_{shots}shot")]
        print(f"  {detail(runs[0])}: top-1 {runs[0]['top1'] or 0:.1f}, billed {runs[0]['billed_seconds']:.1f} s",
              flush=True)
        for backbone in backbones:
            print(f"{shots}-shot: logreg {backbone.name} ...", flush=True)
            runs.append(run_logreg(train, test, backbone, weights_dir, test_features))
        print(f"{shots}-shot: fine-tune ...", flush=True)
        runs.append(run_finetune(train, test, budget, weights_dir, SEED))
        results[shots] = runs
        print("  " + ", ".join(f"{method_label(r)} {r['top1'] or 0:.1f}" for r in runs), flush=True)

    print("throughput ...", flush=True)
    torch.set_flush_denormal(True)  # as train_classifier trains; the bare loops run alike
    throughput = measure_throughput(splits[10], weights_dir)
    checks = targets(results, budget, throughput)
    total = time.monotonic() - run_started
    print()
    print(format_table(results, budget))
    print()
    print("\n".join(throughput_lines(throughput, results)))
    print()
    for check in checks:
        print(f"{verdict(check['ok'])}  {check['name']}: {check['value']}")
    load_after = os.getloadavg()
    print(f"\ntotal {total / 60:.1f} min (shared test features {test_features.seconds:.0f} s); load average "
          f"{load_before[0]:.2f} at start, {load_after[0]:.2f} / {load_after[2]:.2f} (1 / 15 min) at the end "
          f"on {os.cpu_count()} CPUs: above {os.cpu_count()} something else competed and timings are pessimistic")
    results_path = args.out_dir / ("fewshot_throughput.json" if args.throughput_only else "fewshot_results.json")
    document = {
        "config": {
            "budget_seconds": budget, "shots": list(shot_counts), "test_per_class": args.test_per_class,
            "image_side": IMAGE_SIDE, "seed": SEED, "backbones": [b.name for b in backbones],
            "logreg": {"C": LOGREG_C, "max_iter": LOGREG_MAX_ITER},
            "finetune": {"backbone": FINETUNE_BACKBONE, "input_size": FINETUNE_SIZE, "batch": FINETUNE_BATCH,
                         "lr": FINETUNE_LR, "weight_decay": FINETUNE_WEIGHT_DECAY,
                         "label_smoothing": FINETUNE_LABEL_SMOOTHING, "augmentation": "horizontal flip"},
        },
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                        "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.machine(),
                        "tailor_commit": code_version(), "load_average_start": load_before,
                        "load_average_end": load_after},
        "data": {"test": str(test.annotation_file), **{f"train_{s}shot": str(splits[s].annotation_file)
                                                         for s in splits}},
        "results": {str(shots): {"runs": runs, "oracle": oracle_of(runs)["method"]}
                    for shots, runs in results.items()},
        "throughput": throughput,
        "targets": checks,
        "total_seconds": total,
    }
    results_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {results_path}")


def main(argv: list[str] | None = None) -> None:
    benchmark(parse_args(argv))


if __name__ == "__main__":
    main()
