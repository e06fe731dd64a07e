"""Benchmark: Tailor's budget-limited AutoML detector against the fixed recipe, on items composited onto photographs.

What it measures
----------------
Data (benchmarks/_detection_data.py has the details; deterministic, fixed seeds): Fashion-MNIST items of four
classes (trouser, sneaker, bag, ankle boot; Debian's `dataset-fashion-mnist`) upscaled 2..4x, tinted, and pasted
with alpha masks made from their own intensity onto crops of the photographs bundled in scikit-image (astronaut,
coffee, chelsea, rocket, coins, brick, grass, ...), 1..3 objects an image, boxes exact (the extent of each item's
mask, never overlapping), about 10% negatives. Canvases 224..320 x 192..256 px, JPEG.

* training sets with 10 and 50 images per class (an image counts once for each class it shows), items from the
  TRAIN split, backgrounds cropped from the top 59% of each photograph;
* one test set, 40 images per class, items from the TEST split and backgrounds from the bottom 39%: disjoint items
  and disjoint background pixels.

Each set is a folder of JPEGs plus a detection COCO file with relative boxes whose `absolute_url`s are relative
references (resolved against the file), validated with `tailor.coco.validate_coco` and `check_images` (training
quotas for the training sets, evaluation quotas for the test set; any error stops the run), with a preview sheet
(`preview_<set>.png`: the first 16 images, true boxes drawn one pixel outside each box) to check by eye.

For each training size, two arms at the SAME budget of compute seconds (default 240):

* AutoML: `train_detector(TrainingRequest(..., detection_recipe=None))`, the search;
* fixed recipe: `train_detector(TrainingRequest(..., detection_recipe=DEFAULT_RECIPE))`, the same detector with
  default hyperparameters.

Each is timed from call to return (wall) and billed as `result.billed_seconds`; its exported model is measured on
the test set by `evaluate_detector` (mAP at IoU 0.3, 0.5 and 0.75, as the service reports them). Test-set time is
never billed.

With `--seeds N` each arm runs N times per size (training seeds S..S+N-1, S from `--first-seed`, default 0: the
hold-out split, the order of the batches, the augmentation and the search's sampler), on the same data: one run's
mAP50 moves by several hundredths from seed to seed, as much as the arms differ. `--arms` runs one arm only.

Targets (PASS/FAIL): at each size the mean AutoML mAP50 over the seeds >= the fixed recipe's (where both arms ran);
every run billed <= budget.
Results go to `<out-dir>/detection_results.json`.

How to run
----------
From the repository root, with the project's virtualenv active (about 20 minutes on 2 CPU cores)::

    python benchmarks/detection.py                               # 10 and 50 per class, 240 s each
    python benchmarks/detection.py --quick                       # 10 per class at 60 s: a smoke run
    python benchmarks/detection.py --data-only --out-dir /tmp/d  # only the data and its previews (seconds)
    python benchmarks/detection.py --sizes 10 --budget-seconds 240 --seeds 3   # the README's figures (25 min)
    python benchmarks/detection.py --sizes 50 --budget-seconds 240 --seeds 3   # and (25 min)
    python benchmarks/detection.py --sizes 50 --budget-seconds 600 --seeds 3   # and (60 min)
    python benchmarks/detection.py --sizes 50 --arms automl --first-seed 2     # one arm, seed 2 only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

# As the `tailor` command sets it (before torch loads; an explicit value wins): idle OpenMP threads sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _detection_data, _provenance, however started

from _detection_data import (
    BACKGROUNDS,
    CLASSES,
    SetSpec,
    load_backgrounds,
    load_items,
    make_set,
    set_stats,
    write_preview,
    write_set,
)
from _provenance import code_version

from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, CocoDataset, Purpose, check_images, validate_coco

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "data"
SEED = 20240607
DEFAULT_SIZES = (10, 50)
QUICK_SIZES = (10,)
DEFAULT_BUDGET = 240.0
QUICK_BUDGET = 60.0
TEST_PER_CLASS = 40
OVERHEAD_SECONDS = 30.0  # a run's wall time beyond its budget (loading, export) plus its test-set evaluation: a guess
MAX_ANNOTATION_BYTES = 16 * 1024 * 1024
READER = BlobReader(BlobPolicy.local_user())
FETCH = READER.image_fetcher(Access())


class Arm(str, Enum):
    AUTOML = "AutoML"
    FIXED = "fixed recipe"


@dataclass(frozen=True)
class DetectionSet:
    name: str
    annotation_file: Path
    dataset: CocoDataset
    stats: dict[str, Any]


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------


def load_dataset(annotation_file: Path, purpose: Purpose) -> CocoDataset:
    """Read as the CLI would (relative URLs resolve against the file), validate the file and every image; any error
    stops the run."""
    source = READER.annotation_file(str(annotation_file), max_bytes=MAX_ANNOTATION_BYTES)
    report = validate_coco([source], AnnotationKind.DETECTION, purpose)
    problems = report.errors if not report.valid else check_images(report.dataset, FETCH, purpose)
    if problems:
        shown = "; ".join(f"{p.path}: {p.message}" for p in problems[:5])
        raise SystemExit(f"{annotation_file} is not valid for {purpose.value}: {shown}")
    return report.dataset


def build_sets(work: Path, sizes: tuple[int, ...], test_per_class: int) -> tuple[dict[int, DetectionSet], DetectionSet]:
    """(training set per size, test set): generated, written, previewed and validated."""
    photos = load_backgrounds()
    specs = [SetSpec(f"train_{size}", size, True, SEED + size) for size in sizes]
    specs.append(SetSpec("test", test_per_class, False, SEED - 1))
    items = {training: load_items(training) for training in {spec.training for spec in specs}}
    built = {}
    for spec in specs:
        composites = make_set(spec, items[spec.training], photos)
        annotation_file = write_set(work, spec.name, composites)
        write_preview(work / f"preview_{spec.name}.png", composites)
        purpose = Purpose.TRAINING if spec.training else Purpose.EVALUATION
        built[spec.name] = DetectionSet(spec.name, annotation_file, load_dataset(annotation_file, purpose),
                                        set_stats(composites))
    return {size: built[f"train_{size}"] for size in sizes}, built["test"]


def describe(detection_set: DetectionSet) -> str:
    s = detection_set.stats
    per_class = ", ".join(f"{n} {k}" for n, k in s["images_per_class"].items())
    return (f"{detection_set.name}: {s['images']} images ({s['negatives']} negatives), {s['objects']} objects; "
            f"images per class: {per_class}; boxes {s['box_sides_px'][0]}..{s['box_sides_px'][1]} px; "
            f"{detection_set.annotation_file}")


# --------------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------------


def train_and_measure(
    arm: Arm, train: DetectionSet, test: DetectionSet, budget: float, weights_dir: Path, model_dir: Path, seed: int
) -> dict[str, Any]:
    """One arm on one training set: train within the budget, then measure the exported model on the test set. The
    only place that speaks tailor.automl's detection API."""
    # Imported here: torch and the detector load only when something is trained (--data-only runs without them).
    from tailor.automl import TrainingFailed, TrainingRequest, train_detector
    from tailor.automl.detection import DEFAULT_RECIPE
    from tailor.automl.evaluation import evaluate_detector

    if model_dir.exists():  # an earlier run's: TrainingRequest.output_dir must not exist
        shutil.rmtree(model_dir)
    request = TrainingRequest(
        dataset=train.dataset, fetch=FETCH, budget_seconds=budget, weights_dir=weights_dir, output_dir=model_dir,
        seed=seed, detection_recipe=DEFAULT_RECIPE if arm is Arm.FIXED else None,
    )
    run: dict[str, Any] = {"arm": arm.value, "train": train.name, "seed": seed}
    started = time.monotonic()
    try:
        result = train_detector(request)
    except TrainingFailed as failure:
        run.update(failed=f"{failure.code.value}: {failure.message}", billed_seconds=failure.billed_seconds,
                   wall_seconds=time.monotonic() - started, map30=None, map50=None, map75=None)
        return run
    run.update(billed_seconds=result.billed_seconds, wall_seconds=time.monotonic() - started,
               artifact_dir=str(result.artifact_dir))
    started = time.monotonic()
    measured = evaluate_detector(result.artifact_dir, test.dataset, FETCH)
    performance = measured.performance
    floor = json.loads((result.artifact_dir / "config.json").read_text())["score_floor"]
    run.update(
        # what analyze would answer: the boxes at or above the model's confidence floor, against the true objects
        answered=int(sum(int((scores >= floor).sum()) for scores in measured.predictions.scores)),
        objects=int(sum(len(boxes) for boxes in measured.predictions.true_boxes)),
    )
    run.update(
        map30=performance["meanAveragePrecision30"],
        map50=performance["meanAveragePrecision50"],
        map75=performance["meanAveragePrecision75"],
        tag_performance=performance.get("tagPerformance"),
        eval_seconds=time.monotonic() - started,
        recipe=json.loads((result.artifact_dir / "config.json").read_text())["recipe"],
    )
    return run


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def mean_of(runs: list[dict[str, Any]], key: str) -> float | None:
    """A failed run counts as 0: it answered nothing."""
    return float(np.mean([run[key] or 0.0 for run in runs])) if runs else None


def spread(runs: list[dict[str, Any]], key: str) -> str:
    values = [run[key] or 0.0 for run in runs]
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else score(values[0])


def recipe_of(run: dict[str, Any]) -> str:
    recipe = run.get("recipe")
    if not recipe:
        return run["failed"][:60] if "failed" in run else "-"
    return f"{recipe['backbone']} {recipe['minSize']} px, lr {recipe['lr']:.1e}, aug {recipe['augment']}, " \
           f"epoch {recipe['epochs']}"


def format_table(results: dict[int, list[dict[str, Any]]], budget: float) -> str:
    header = ["per class", "arm", "seed", "mAP30", "mAP50", "mAP75", "billed s", "wall s", "<= budget", "model"]
    rows = [header]
    for size, runs in results.items():
        for arm in Arm:
            mine = [run for run in runs if run["arm"] == arm.value]
            for run in mine:
                rows.append([
                    str(size), run["arm"], str(run["seed"]), score(run["map30"]), score(run["map50"]),
                    score(run["map75"]), f"{run['billed_seconds']:.1f}", f"{run['wall_seconds']:.1f}",
                    "yes" if run["billed_seconds"] <= budget else "NO", recipe_of(run),
                ])
            if len(mine) > 1:
                rows.append([str(size), run["arm"], "mean ± sd", spread(mine, "map30"), spread(mine, "map50"),
                             spread(mine, "map75"), "", "", "", ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    left = {1, 9}  # text columns; numbers right-aligned
    lines = [
        "  ".join(cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        .rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def targets(results: dict[int, list[dict[str, Any]]], budget: float) -> list[dict[str, Any]]:
    checks = []
    for size, runs in results.items():
        automl = [run for run in runs if run["arm"] == Arm.AUTOML.value]
        fixed = [run for run in runs if run["arm"] == Arm.FIXED.value]
        if not automl or not fixed:  # one arm only (--arms): nothing to compare
            continue
        mine, theirs = mean_of(automl, "map50"), mean_of(fixed, "map50")
        checks.append({
            "name": f"{size} per class: AutoML mAP50 >= fixed recipe mAP50 (mean of {len(automl)} seed(s))",
            "ok": mine is not None and theirs is not None and mine >= theirs,
            "value": f"AutoML {spread(automl, 'map50')} vs fixed recipe {spread(fixed, 'map50')} "
                     f"({(mine or 0.0) - (theirs or 0.0):+.3f})",
        })
        worst = max(runs, key=lambda r: r["billed_seconds"])
        checks.append({
            "name": f"{size} per class: every run billed <= budget {budget:.0f} s",
            "ok": all(r["billed_seconds"] <= budget for r in runs),
            "value": f"max {worst['billed_seconds']:.1f} s ({worst['arm']})",
        })
    return checks


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", "--out", type=Path, default=DEFAULT_OUT_DIR,
                        help="where data, models and results go (under <out-dir>/detection)")
    parser.add_argument("--weights-dir", type=Path, help="converted backbone weights (default <out-dir>/weights)")
    parser.add_argument("--budget-seconds", type=float, help=f"per run (default {DEFAULT_BUDGET:.0f})")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"images per class (default {DEFAULT_SIZES})")
    parser.add_argument("--test-per-class", type=int, default=TEST_PER_CLASS)
    parser.add_argument("--seeds", type=int, default=1, help="runs per arm and size, training seeds S..S+N-1")
    parser.add_argument("--first-seed", type=int, default=0, help="S, the first training seed (default 0)")
    parser.add_argument("--arms", nargs="+", choices=[arm.name.lower() for arm in Arm],
                        default=[arm.name.lower() for arm in Arm], help="which arms to run (default both)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_SIZES} per class at {QUICK_BUDGET:.0f} s")
    parser.add_argument("--data-only", action="store_true", help="write and check the data and previews, train nothing")
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> None:
    run_started = time.monotonic()
    budget = args.budget_seconds or (QUICK_BUDGET if args.quick else DEFAULT_BUDGET)
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    work = args.out_dir / "detection"
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    arms = [arm for arm in Arm if arm.name.lower() in args.arms]
    work.mkdir(parents=True, exist_ok=True)
    if not args.data_only:
        runs = len(sizes) * len(arms) * len(seeds)
        print(f"expected about {runs * (budget + OVERHEAD_SECONDS) / 60:.0f} min: {runs} runs x ({budget:.0f} s "
              f"budget + ~{OVERHEAD_SECONDS:.0f} s loading and test-set evaluation), plus the data", flush=True)

    started = time.monotonic()
    trains, test = build_sets(work, sizes, args.test_per_class)
    data_seconds = time.monotonic() - started
    print(f"data in {data_seconds:.1f} s (written, validated, previews preview_*.png in {work}); classes "
          f"{', '.join(n for _, n in CLASSES)}; {len(BACKGROUNDS)} background photographs", flush=True)
    for detection_set in (*trains.values(), test):
        print("  " + describe(detection_set), flush=True)
    if args.data_only:
        return

    from tailor.automl.backbones import prepare_weights  # torch and timm: only when training

    weights_dir = args.weights_dir or args.out_dir / "weights"
    prepare_weights(weights_dir)
    load_before = os.getloadavg()
    print(f"budget {budget:.0f} s; sizes {sizes}; tailor {code_version()}; load {load_before[0]:.2f}", flush=True)
    results: dict[int, list[dict[str, Any]]] = {}
    for size in sizes:
        results[size] = []
        for seed in seeds:  # the arms alternate, so that a slow spell of the machine hits both
            for arm in arms:
                print(f"{size} per class, seed {seed}: {arm.value} ...", flush=True)
                model_dir = work / "models" / f"{arm.name.lower()}_{size}_{seed}"
                run = train_and_measure(arm, trains[size], test, budget, weights_dir, model_dir, seed)
                results[size].append(run)
                print(f"  {recipe_of(run)}", flush=True)
                print(f"  mAP50 {score(run['map50'])}, billed {run['billed_seconds']:.1f} s, "
                      f"wall {run['wall_seconds']:.1f} s" + (f", FAILED {run['failed']}" if "failed" in run else ""),
                      flush=True)

    checks = targets(results, budget)
    total = time.monotonic() - run_started
    print()
    print(format_table(results, budget))
    print()
    for check in checks:
        print(f"{verdict(check['ok'])}  {check['name']}: {check['value']}")
    load_after = os.getloadavg()
    print(f"\ntotal {total / 60:.1f} min; load average {load_before[0]:.2f} at start, {load_after[0]:.2f} / "
          f"{load_after[2]:.2f} (1 / 15 min) at the end on {os.cpu_count()} CPUs: above {os.cpu_count()} something "
          f"else competed and timings are pessimistic")
    import torch  # loaded by the runs already

    document = {
        "config": {
            "budget_seconds": budget, "sizes": list(sizes), "test_per_class": args.test_per_class, "seed": SEED,
            "training_seeds": list(seeds), "arms": [arm.value for arm in arms],
            "classes": [n for _, n in CLASSES], "backgrounds": list(BACKGROUNDS),
        },
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.machine(),
                        "tailor_commit": code_version(), "load_average_start": load_before,
                        "load_average_end": load_after},
        "data": {d.name: {"annotation_file": str(d.annotation_file), **d.stats} for d in (*trains.values(), test)},
        "data_seconds": data_seconds,
        "results": {str(size): runs for size, runs in results.items()},
        "targets": checks,
        "total_seconds": total,
    }
    results_path = args.out_dir / "detection_results.json"
    results_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {results_path}")


def main(argv: list[str] | None = None) -> None:
    benchmark(parse_args(argv))


if __name__ == "__main__":
    main()
