"""Benchmark: Tailor's detector on real aerial photographs of small, crowded objects (tree crowns), AutoML against the
fixed recipe at the same budget.

What it measures
----------------
Data (benchmarks/_tree_crowns.py has the details): the annotated NEON orthophotos that PyPI's `deepforest` wheel
ships, one category ("Tree"), crowns of 15-60 px, up to 61 an image, many touching. Training sets: 10 and 2 tiles of
400 px from one stand in Yellowstone (the 2 are the first of the 10); test set: 8 images, 307 crowns, from three
other places (another Yellowstone stand 13 km away, Florida's longleaf pines, California's mixed conifers): other
species, other light, other ground. Each set is a folder of PNGs and a detection COCO file with relative boxes,
validated as the CLI would (`validate_coco`, `check_images`), with a preview (`preview_<set>.png`).

For each training size and seed, two arms at the SAME budget (default 360 s, the 0.1 h a user would give on a CPU):
AutoML (`detection_recipe=None`) and the fixed recipe (`DEFAULT_RECIPE`), as benchmarks/detection.py runs them (its
`train_and_measure`). The exported model is measured on the test set by `evaluate_detector` (mAP at IoU 0.3, 0.5
and 0.75, as the evaluations API reports them), and the boxes it would answer (those at or above its confidence
floor, what analyze returns) are counted against the true objects.

Targets (PASS/FAIL), issue 18's: at 10 images, AutoML mAP50 >= 0.6 and >= the fixed recipe's on every seed, and at
most 1.5 boxes answered per true object; at 2 images, AutoML mAP50 >= 0.3 on every seed; every run billed <= budget.
Results go to `<out-dir>/detection_photos_results.json`.

How to run
----------
From the repository root, with the project's virtualenv active (pip reaches PyPI once, for the wheel)::

    python benchmarks/detection_photos.py                          # 10 and 2 images, 3 seeds, 360 s: about 90 min
    python benchmarks/detection_photos.py --sizes 10 --seeds 1     # one seed at 10 images: about 15 min
    python benchmarks/detection_photos.py --data-only              # the data and previews only (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the `tailor` command sets it, before torch loads
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _tree_crowns as crowns
from _provenance import code_version
from detection import (
    OVERHEAD_SECONDS,
    Arm,
    DetectionSet,
    load_dataset,
    recipe_of,
    score,
    spread,
    train_and_measure,
    verdict,
)

from tailor.coco import Purpose

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "data"
SEED = 20261207  # draws the order of the training tiles
DEFAULT_SIZES = (10, 2)
DEFAULT_BUDGET = 360.0  # 0.1 h
TARGET_MAP50 = {10: 0.6, 2: 0.3}
MAX_BOXES_PER_OBJECT = 1.5


def build_sets(work: Path, sizes: tuple[int, ...]) -> tuple[dict[int, DetectionSet], DetectionSet]:
    data = crowns.fetch_sources(work)
    drawn = crowns.training_tiles(data, SEED)
    chosen = {f"train_{size}": drawn[:size] for size in sizes}
    chosen["test"] = crowns.test_tiles(data)
    built = {}
    for name, tiles in chosen.items():
        annotation_file = crowns.write_set(work, name, tiles)
        crowns.write_preview(work / f"preview_{name}.png", tiles)
        purpose = Purpose.EVALUATION if name == "test" else Purpose.TRAINING
        built[name] = DetectionSet(name, annotation_file, load_dataset(annotation_file, purpose), crowns.set_stats(tiles))
    return {size: built[f"train_{size}"] for size in sizes}, built["test"]


def boxes_per_object(run: dict[str, Any]) -> float | None:
    return run["answered"] / run["objects"] if run.get("objects") else None


def format_table(results: dict[int, list[dict[str, Any]]], budget: float) -> str:
    header = ["images", "arm", "seed", "mAP30", "mAP50", "mAP75", "boxes/object", "billed s", "model"]
    rows = [header]
    for size, runs in results.items():
        for arm in Arm:
            mine = [run for run in runs if run["arm"] == arm.value]
            for run in mine:
                per_object = boxes_per_object(run)
                rows.append([
                    str(size), run["arm"], str(run["seed"]), score(run["map30"]), score(run["map50"]),
                    score(run["map75"]),
                    "-" if per_object is None else f"{per_object:.2f} ({run['answered']}/{run['objects']})",
                    f"{run['billed_seconds']:.1f}" + ("" if run["billed_seconds"] <= budget else " OVER"),
                    recipe_of(run),
                ])
            if len(mine) > 1:
                rows.append([str(size), arm.value, "mean ± sd", spread(mine, "map30"), spread(mine, "map50"),
                             spread(mine, "map75"), "", "", ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    left = {1, 8}
    lines = ["  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def targets(results: dict[int, list[dict[str, Any]]], budget: float) -> list[dict[str, Any]]:
    checks = []
    for size, runs in results.items():
        automl = [run for run in runs if run["arm"] == Arm.AUTOML.value]
        fixed = {run["seed"]: run for run in runs if run["arm"] == Arm.FIXED.value}
        floor = TARGET_MAP50.get(size)
        if automl and floor is not None:
            checks.append({
                "name": f"{size} images: AutoML mAP50 >= {floor} on every seed",
                "ok": all((run["map50"] or 0.0) >= floor for run in automl),
                "value": ", ".join(score(run["map50"]) for run in automl),
            })
        paired = [(run, fixed[run["seed"]]) for run in automl if run["seed"] in fixed]
        if paired:
            checks.append({
                "name": f"{size} images: AutoML mAP50 >= the fixed recipe's on every seed",
                "ok": all((mine["map50"] or 0.0) >= (theirs["map50"] or 0.0) for mine, theirs in paired),
                "value": ", ".join(f"{score(m['map50'])} vs {score(t['map50'])}" for m, t in paired),
            })
        if automl and size == max(TARGET_MAP50):
            ratios = [boxes_per_object(run) for run in automl]
            checks.append({
                "name": f"{size} images: AutoML answers <= {MAX_BOXES_PER_OBJECT} boxes per true object",
                "ok": all(r is not None and r <= MAX_BOXES_PER_OBJECT for r in ratios),
                "value": ", ".join("-" if r is None else f"{r:.2f}" for r in ratios),
            })
        checks.append({
            "name": f"{size} images: every run billed <= budget {budget:.0f} s",
            "ok": all(run["billed_seconds"] <= budget for run in runs),
            "value": f"max {max(run['billed_seconds'] for run in runs):.1f} s",
        })
    return checks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                        help="where data, models and results go (under <out-dir>/detection_photos)")
    parser.add_argument("--weights-dir", type=Path, help="converted backbone weights (default <out-dir>/weights)")
    parser.add_argument("--budget-seconds", type=float, default=DEFAULT_BUDGET)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="training images")
    parser.add_argument("--seeds", type=int, default=3, help="runs per arm and size, training seeds S..S+N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--arms", nargs="+", choices=[arm.name.lower() for arm in Arm],
                        default=[arm.name.lower() for arm in Arm])
    parser.add_argument("--data-only", action="store_true", help="write and check the data and previews, train nothing")
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> None:
    started = time.monotonic()
    work = args.out_dir / "detection_photos"
    work.mkdir(parents=True, exist_ok=True)
    sizes = tuple(args.sizes)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    arms = [arm for arm in Arm if arm.name.lower() in args.arms]
    trains, test = build_sets(work, sizes)
    for detection_set in (*trains.values(), test):
        print(f"  {detection_set.name}: {detection_set.stats}", flush=True)
    if args.data_only:
        return
    runs = len(sizes) * len(arms) * len(seeds)
    print(f"expected about {runs * (args.budget_seconds + OVERHEAD_SECONDS) / 60:.0f} min: {runs} runs", flush=True)

    from tailor.automl.backbones import prepare_weights

    weights_dir = args.weights_dir or args.out_dir / "weights"
    prepare_weights(weights_dir)
    load_before = os.getloadavg()
    print(f"budget {args.budget_seconds:.0f} s; tailor {code_version()}; load {load_before[0]:.2f}", flush=True)
    results: dict[int, list[dict[str, Any]]] = {}
    for size in sizes:
        results[size] = []
        for seed in seeds:
            for arm in arms:
                model_dir = work / "models" / f"{arm.name.lower()}_{size}_{seed}"
                run = train_and_measure(arm, trains[size], test, args.budget_seconds, weights_dir, model_dir, seed)
                run.pop("tag_performance", None)
                results[size].append(run)
                per_object = boxes_per_object(run)
                print(f"{size} images, seed {seed}, {arm.value}: mAP30/50/75 {score(run['map30'])} / "
                      f"{score(run['map50'])} / {score(run['map75'])}, boxes/object "
                      f"{'-' if per_object is None else f'{per_object:.2f}'}, billed {run['billed_seconds']:.1f} s; "
                      f"{recipe_of(run)}", flush=True)

    checks = targets(results, args.budget_seconds)
    print()
    print(format_table(results, args.budget_seconds))
    print()
    for check in checks:
        print(f"{verdict(check['ok'])}  {check['name']}: {check['value']}")
    load_after = os.getloadavg()
    total = time.monotonic() - started
    print(f"\ntotal {total / 60:.1f} min; load average {load_before[0]:.2f} at start, {load_after[2]:.2f} (15 min) "
          f"at the end on {os.cpu_count()} CPUs")
    import torch

    document = {
        "config": {"budget_seconds": args.budget_seconds, "sizes": list(sizes), "seed": SEED,
                   "training_seeds": list(seeds), "arms": [arm.value for arm in arms], "wheel": crowns.WHEEL},
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "tailor_commit": code_version(),
                        "load_average_start": load_before, "load_average_end": load_after},
        "data": {d.name: {"annotation_file": str(d.annotation_file), **d.stats} for d in (*trains.values(), test)},
        "results": {str(size): runs for size, runs in results.items()},
        "targets": checks,
        "total_seconds": total,
    }
    path = args.out_dir / "detection_photos_results.json"
    path.write_text(json.dumps(document, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"results written to {path}")


def main(argv: list[str] | None = None) -> None:
    benchmark(parse_args(argv))


if __name__ == "__main__":
    main()
