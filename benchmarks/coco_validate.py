"""Benchmark: Tailor's COCO validator against the official checker, on large synthetic files.

What it measures
----------------
Four synthetic COCO annotation files are written to the output directory:

* classification, valid:     1,000,000 images, 100 categories, one annotation per image;
* classification, corrupted: the same file with 1% of the images and 1% of the annotations broken;
* detection, valid:          200,000 images, 50 categories, 2..8 relative boxes per image;
* detection, corrupted:      the same file with 1% of the images and 1% of the annotations broken.

Each file is then validated by two validators, each in a fresh Python process so that the peak memory of one
run is not hidden by an earlier one:

* Tailor:  `tailor.coco.validate_coco` on the file's bytes (problems found = number of errors in the report);
* checker: `check_coco_annotation_file` of the official samples package on `json.loads` of the file's text;
  it raises at the first problem, so it finds at most one.

For each run we record the wall time from before the file is read to the verdict, and the peak memory: the
process's `ru_maxrss` at the end minus its `ru_maxrss` right after the imports (so the interpreter and the
libraries are not counted). The table compares both validators and checks two targets: Tailor is no slower
than the checker (time ratio <= 1.0x) and Tailor's peak memory is at most 3x the file size. The results are
also written to `<out-dir>/results.json`.

How to run
----------
From the repository root, with the project's virtualenv active::

    python benchmarks/coco_validate.py            # full size (a few minutes; files are reused afterwards)
    python benchmarks/coco_validate.py --quick    # 20,000 / 4,000 images: a smoke run
    python benchmarks/coco_validate.py --images 100000 --detection-images 20000 --out-dir /tmp/coco

Generated files are named after their parameters and reused when they already exist, so re-runs only time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_IMAGES = 1_000_000
DEFAULT_DETECTION_IMAGES = 200_000
QUICK_IMAGES = 20_000
QUICK_DETECTION_IMAGES = 4_000
CLASSIFICATION_CATEGORIES = 100
DETECTION_CATEGORIES = 50
SEED = 20240601
URL_PREFIX = "https://tailorbench.blob.core.windows.net/data/"
# Ids that no valid record uses: far above any image id or category id this script generates.
MISSING_CATEGORY_ID = 99_999
MISSING_IMAGE_ID = 999_999_999
# One record in every block of this many is corrupted: exactly 1%, spread over the whole file.
CORRUPTION_BLOCK = 100
# Bumped whenever the generated content changes, so that stale files are not reused.
FORMAT_VERSION = 1

TIME_RATIO_TARGET = 1.0
PEAK_MULTIPLE_TARGET = 3.0


# --------------------------------------------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate; every field is part of the file name, so a file is reused only for the same spec."""

    kind: str  # "classification" or "detection"
    images: int
    categories: int
    seed: int

    @property
    def stem(self) -> str:
        return f"{self.kind}_n{self.images}_c{self.categories}_s{self.seed}_v{FORMAT_VERSION}"


@dataclass(frozen=True)
class GeneratedFiles:
    spec: DatasetSpec
    valid: Path
    corrupted: Path
    annotations: int
    corrupted_images: int
    corrupted_annotations: int


class BlockPicker:
    """Picks one index at a random offset in every block of `CORRUPTION_BLOCK` consecutive indices.

    It works on a stream whose length is not known in advance (the number of detection boxes), picks exactly
    one record per full block, and never picks the first record of a block, so a picked record always has an
    unpicked predecessor to copy an id from.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._block = -1
        self._offset = 0

    def picks(self, index: int) -> bool:
        block, position = divmod(index, CORRUPTION_BLOCK)
        if block != self._block:
            self._block = block
            self._offset = self._rng.randint(1, CORRUPTION_BLOCK - 1)
        return position == self._offset


def image_record(image_id: int, rng: random.Random) -> dict[str, Any]:
    file_name = f"train/{image_id:07d}.jpg"
    return {
        "id": image_id,
        "width": rng.randint(200, 1024),
        "height": rng.randint(200, 1024),
        "file_name": file_name,
        "absolute_url": URL_PREFIX + file_name,
    }


def relative_box(rng: random.Random) -> list[float]:
    """A box inside the unit square. Drawn in ten-thousandths and kept 1e-4 away from the right and bottom
    edges, so that float rounding of `left + width` can never push it past 1."""
    width = rng.randint(100, 5000)
    height = rng.randint(100, 5000)
    left = rng.randint(0, 9999 - width)
    top = rng.randint(0, 9999 - height)
    return [left / 10_000, top / 10_000, width / 10_000, height / 10_000]


def annotation_records(spec: DatasetSpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Annotations in image order, with ids 1..K. Classification: one per image; detection: 2..8 boxes."""
    annotation_id = 0
    for image_id in range(1, spec.images + 1):
        boxes = 1 if spec.kind == "classification" else rng.randint(2, 8)
        for _ in range(boxes):
            annotation_id += 1
            record: dict[str, Any] = {
                "id": annotation_id,
                "image_id": image_id,
                "category_id": rng.randint(1, spec.categories),
            }
            if spec.kind == "detection":
                record["bbox"] = relative_box(rng)
            yield record


def corrupt_image(record: dict[str, Any], nth: int) -> dict[str, Any]:
    """The `nth` corrupted image, broken in one of five ways in rotation."""
    broken = dict(record)
    way = nth % 5
    if way == 0:
        broken["id"] = str(record["id"])
    elif way == 1:
        del broken["width"]
    elif way == 2:
        broken["height"] = -record["height"]
    elif way == 3:
        broken["id"] = record["id"] - 1  # the previous image's id (BlockPicker never picks image 1)
    else:
        del broken["file_name"]
    return broken


def corrupt_annotation(record: dict[str, Any], nth: int, kind: str) -> dict[str, Any]:
    """The `nth` corrupted annotation: three ways for classification, five for detection, in rotation."""
    broken = dict(record)
    way = nth % (5 if kind == "detection" else 3)
    if way == 0:
        broken["category_id"] = MISSING_CATEGORY_ID
    elif way == 1:
        broken["image_id"] = MISSING_IMAGE_ID
    elif way == 2:
        del broken["id"]
    elif way == 3:
        broken["bbox"] = [0.95, record["bbox"][1], 0.2, record["bbox"][3]]  # sticks out on the right
    else:
        broken["bbox"] = record["bbox"][:3]
    return broken


class PairWriter:
    """Writes the valid and the corrupted file side by side, one record at a time, so that neither file is
    ever held in memory."""

    def __init__(self, valid: TextIO, corrupted: TextIO) -> None:
        self._files = (valid, corrupted)
        self._first = True

    def raw(self, text: str) -> None:
        for f in self._files:
            f.write(text)

    def open_list(self, key: str, leading_comma: bool) -> None:
        self.raw(("," if leading_comma else "") + f"\n{json.dumps(key)}: [")
        self._first = True

    def record(self, valid: dict[str, Any], corrupted: dict[str, Any]) -> None:
        separator = "\n" if self._first else ",\n"
        self._first = False
        text = json.dumps(valid)
        self._files[0].write(separator + text)
        # Most records are not corrupted: reuse the text rather than encode the same record twice.
        self._files[1].write(separator + (text if corrupted is valid else json.dumps(corrupted)))

    def close_list(self) -> None:
        self.raw("\n]")


def write_pair(spec: DatasetSpec, valid_path: Path, corrupted_path: Path) -> tuple[int, int, int]:
    """Write both files; returns (annotations, corrupted images, corrupted annotations)."""
    image_rng = random.Random(spec.seed)
    annotation_rng = random.Random(spec.seed + 1)
    image_picker = BlockPicker(spec.seed + 2)
    annotation_picker = BlockPicker(spec.seed + 3)
    bad_images = bad_annotations = annotations = 0
    with valid_path.open("w", encoding="utf-8") as valid, corrupted_path.open("w", encoding="utf-8") as corrupted:
        out = PairWriter(valid, corrupted)
        out.raw("{")
        out.open_list("images", leading_comma=False)
        for index in range(spec.images):
            record = image_record(index + 1, image_rng)
            if image_picker.picks(index):
                out.record(record, corrupt_image(record, bad_images))
                bad_images += 1
            else:
                out.record(record, record)
        out.close_list()
        out.open_list("annotations", leading_comma=True)
        for index, record in enumerate(annotation_records(spec, annotation_rng)):
            annotations += 1
            if annotation_picker.picks(index):
                out.record(record, corrupt_annotation(record, bad_annotations, spec.kind))
                bad_annotations += 1
            else:
                out.record(record, record)
        out.close_list()
        out.open_list("categories", leading_comma=True)
        for category_id in range(1, spec.categories + 1):
            category = {"id": category_id, "name": f"class_{category_id}"}
            out.record(category, category)
        out.close_list()
        out.raw("\n}\n")
    return annotations, bad_images, bad_annotations


def ensure_files(spec: DatasetSpec, out_dir: Path) -> tuple[GeneratedFiles, bool]:
    """The valid and corrupted files for `spec`, generated unless a complete earlier run left them.

    A manifest is written last, after both files are in place: a run interrupted mid-write leaves no
    manifest, so its partial files are regenerated rather than reused. Returns (files, reused).
    """
    valid = out_dir / f"{spec.stem}.json"
    corrupted = out_dir / f"{spec.stem}_corrupted.json"
    manifest = out_dir / f"{spec.stem}.manifest.json"
    if manifest.exists() and valid.exists() and corrupted.exists():
        counts = json.loads(manifest.read_text(encoding="utf-8"))
        return GeneratedFiles(spec, valid, corrupted, **counts), True
    manifest.unlink(missing_ok=True)
    valid_tmp, corrupted_tmp = valid.with_suffix(".json.tmp"), corrupted.with_suffix(".json.tmp")
    annotations, bad_images, bad_annotations = write_pair(spec, valid_tmp, corrupted_tmp)
    valid_tmp.replace(valid)
    corrupted_tmp.replace(corrupted)
    counts = {
        "annotations": annotations,
        "corrupted_images": bad_images,
        "corrupted_annotations": bad_annotations,
    }
    manifest.write_text(json.dumps(counts), encoding="utf-8")
    return GeneratedFiles(spec, valid, corrupted, **counts), False


# --------------------------------------------------------------------------------------------------------------
# Measurement (runs in a fresh child process)
# --------------------------------------------------------------------------------------------------------------


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux


def tailor_validator(kind: str) -> Callable[[Path], tuple[int, bool]]:
    from tailor.coco import AnnotationKind, CocoSource, Purpose, validate_coco

    annotation_kind = AnnotationKind.CLASSIFICATION if kind == "classification" else AnnotationKind.DETECTION

    def validate(path: Path) -> tuple[int, bool]:
        data = path.read_bytes()
        report = validate_coco([CocoSource(str(path), data)], annotation_kind, Purpose.TRAINING)
        return len(report.errors), report.valid

    return validate


def checker_validator(kind: str) -> Callable[[Path], tuple[int, bool]]:
    from cognitive_service_vision_model_customization_python_samples import (
        AnnotationKind,
        Purpose,
        check_coco_annotation_file,
    )

    annotation_kind = (
        AnnotationKind.MULTICLASS_CLASSIFICATION if kind == "classification" else AnnotationKind.OBJECT_DETECTION
    )

    def validate(path: Path) -> tuple[int, bool]:
        coco_dict = json.loads(path.read_text(encoding="utf-8"))
        # The checker reports through print(); its tqdm bars are off through TQDM_DISABLE (set by the parent).
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            try:
                check_coco_annotation_file(coco_dict, annotation_kind, Purpose.TRAINING)
            except ValueError:  # its way of reporting the first problem
                return 1, False
        return 0, True

    return validate


def measure(validator: str, kind: str, path: Path) -> dict[str, Any]:
    """Time one validation and its memory above the post-import baseline. Any exception other than the
    checker's ValueError is reported in the result rather than raised, so the parent can show it."""
    make = tailor_validator if validator == "tailor" else checker_validator
    validate = make(kind)  # imports happen here, before the baseline
    baseline = max_rss_bytes()
    start = time.perf_counter()
    exception = None
    try:
        problems, valid = validate(path)
    except Exception as exc:  # a crash is a result worth reporting, not a reason to stop
        import traceback

        problems, valid = 1, False
        exception = "".join(traceback.format_exception(exc))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_bytes": max_rss_bytes() - baseline,
        "problems": problems,
        "valid": valid,
        "exception": exception,
    }


def run_isolated(validator: str, kind: str, path: Path) -> dict[str, Any]:
    """Run `measure` in a fresh interpreter: ru_maxrss is a high-water mark, so runs must not share a process."""
    env = dict(os.environ, TQDM_DISABLE="1")
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", validator, kind, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{validator} on {path.name} exited {done.returncode}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileResult:
    label: str
    path: str
    size_bytes: int
    corrupted_records: int
    tailor: dict[str, Any]
    checker: dict[str, Any]

    @property
    def time_ratio(self) -> float:
        return self.tailor["seconds"] / self.checker["seconds"]

    def peak_multiple(self, who: dict[str, Any]) -> float:
        return who["peak_bytes"] / self.size_bytes


def megabytes(n: float) -> str:
    return f"{n / 1_000_000:.1f}"


def problems_text(result: dict[str, Any]) -> str:
    return f"{result['problems']:,}" + (" (crash)" if result["exception"] else "")


def format_table(results: list[FileResult]) -> str:
    header = [
        "file", "size MB", "tailor s", "checker s", "ratio",
        "tailor peak MB", "x size", "checker peak MB", "x size", "tailor problems", "checker problems",
    ]
    rows = [header]
    for r in results:
        rows.append([
            r.label,
            megabytes(r.size_bytes),
            f"{r.tailor['seconds']:.2f}",
            f"{r.checker['seconds']:.2f}",
            f"{r.time_ratio:.2f}x",
            megabytes(r.tailor["peak_bytes"]),
            f"{r.peak_multiple(r.tailor):.2f}x",
            megabytes(r.checker["peak_bytes"]),
            f"{r.peak_multiple(r.checker):.2f}x",
            problems_text(r.tailor),
            problems_text(r.checker),
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    # The label is text and left-aligned; every other column is a number and right-aligned.
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def target_lines(results: list[FileResult]) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines = []
    for r in results:
        lines.append(f"{r.label}: time ratio <= {TIME_RATIO_TARGET:.1f}x: {verdict(r.time_ratio <= TIME_RATIO_TARGET)}")
    for r in results:
        ok = r.peak_multiple(r.tailor) <= PEAK_MULTIPLE_TARGET
        lines.append(f"{r.label}: Tailor peak <= {PEAK_MULTIPLE_TARGET:.0f}x file size: {verdict(ok)}")
    return lines


def write_results(results: list[FileResult], specs: list[DatasetSpec], path: Path) -> None:
    document = {
        "datasets": [asdict(s) for s in specs],
        "files": [
            asdict(r) | {
                "time_ratio": r.time_ratio,
                "tailor_peak_multiple": r.peak_multiple(r.tailor),
                "checker_peak_multiple": r.peak_multiple(r.checker),
            }
            for r in results
        ],
        "targets": {"time_ratio_max": TIME_RATIO_TARGET, "tailor_peak_multiple_max": PEAK_MULTIPLE_TARGET},
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where files and results go")
    parser.add_argument("--images", type=int, help=f"classification images (default {DEFAULT_IMAGES:,})")
    parser.add_argument(
        "--detection-images", type=int, help=f"detection images (default {DEFAULT_DETECTION_IMAGES:,})"
    )
    parser.add_argument(
        "--quick", action="store_true",
        help=f"smoke run: {QUICK_IMAGES:,} classification and {QUICK_DETECTION_IMAGES:,} detection images",
    )
    # Internal: the child process's entry point (VALIDATOR KIND PATH).
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> None:
    images = args.images or (QUICK_IMAGES if args.quick else DEFAULT_IMAGES)
    detection_images = args.detection_images or (QUICK_DETECTION_IMAGES if args.quick else DEFAULT_DETECTION_IMAGES)
    specs = [
        DatasetSpec("classification", images, CLASSIFICATION_CATEGORIES, SEED),
        DatasetSpec("detection", detection_images, DETECTION_CATEGORIES, SEED),
    ]
    args.out_dir.mkdir(parents=True, exist_ok=True)

    results: list[FileResult] = []
    for spec in specs:
        started = time.perf_counter()
        files, reused = ensure_files(spec, args.out_dir)
        how = "reused" if reused else f"generated in {time.perf_counter() - started:.1f}s"
        corrupted = files.corrupted_images + files.corrupted_annotations
        print(
            f"{spec.kind}: {spec.images:,} images, {files.annotations:,} annotations, {spec.categories} categories "
            f"({how}); corrupted copy: {files.corrupted_images:,} images + {files.corrupted_annotations:,} "
            f"annotations = {corrupted:,} records",
            flush=True,
        )
        for label, path, bad in (("valid", files.valid, 0), ("corrupted", files.corrupted, corrupted)):
            name = f"{spec.kind}/{label}"
            print(f"  timing {name} ...", flush=True)
            result = FileResult(
                label=name,
                path=str(path),
                size_bytes=path.stat().st_size,
                corrupted_records=bad,
                tailor=run_isolated("tailor", spec.kind, path),
                checker=run_isolated("checker", spec.kind, path),
            )
            for who in ("tailor", "checker"):
                if getattr(result, who)["exception"]:
                    print(f"  {who} crashed on {name}:\n{getattr(result, who)['exception']}", flush=True)
            results.append(result)

    print()
    print(format_table(results))
    print()
    print("\n".join(target_lines(results)))
    results_path = args.out_dir / "results.json"
    write_results(results, specs, results_path)
    print(f"\nresults written to {results_path}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.measure:
        validator, kind, path = args.measure
        print(json.dumps(measure(validator, kind, Path(path))))
    else:
        benchmark(args)


if __name__ == "__main__":
    main()
