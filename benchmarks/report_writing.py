"""Benchmark: how long an evaluation report takes to write, the numbers, plots and page included.

What it measures
----------------
A classifier's report of 1000 images over 10 classes and a detector's report of 1000 images over 10 classes
(COCOeval included, run once for the figures and the report), from the predictions of tests/reports/builders.py,
each written once to warm fonts and caches and then REPEATS times; it prints the median and the slowest against the
targets (2 s and 3 s on 2 cores: a report is written at the end of every training and evaluation, and must not
weigh on them). These were timing assertions in the test suite until 2026-12-08; they live here because a loaded
machine made them fail with nothing wrong.

How to run
----------
From the repository root, with the project's virtualenv active (about a minute)::

    python benchmarks/report_writing.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tailor.automl.detection_metrics import detection_performance
from tailor.reports import write_report
from tests.reports.builders import random_detections, random_multiclass

CLASSIFIER_TARGET_S, DETECTOR_TARGET_S = 2.0, 3.0
PERFORMANCE = {"accuracyTop1": 0.5, "accuracyTop5": 1.0, "averagePrecision": 0.75, "calibrationECE": 0.47}


def timed(make, write, repeats: int) -> list[float]:
    """Fresh predictions for each report (made untimed): what they compute once, COCOeval included, is cached on
    them, and a report of the same object again would time none of it."""
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder) / "warm", make())
        for k in range(repeats):
            predictions = make()
            started = time.perf_counter()
            write(Path(folder) / f"report-{k}", predictions)
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = [
        ("classifier, 10 classes, 1000 images", CLASSIFIER_TARGET_S, timed(
            lambda: random_multiclass(10, 1000),
            lambda out, found: write_report(out, found, title="timed", performance=PERFORMANCE), args.repeats)),
        ("detector, 10 classes, 1000 images", DETECTOR_TARGET_S, timed(
            lambda: random_detections(10, 1000),
            lambda out, found: write_report(out, found, title="timed", performance=detection_performance(found)),
            args.repeats)),
    ]
    print(f"{'report':40} {'median s':>9} {'slowest s':>10} {'target s':>9}")
    for name, target, seconds in rows:
        verdict = "met" if max(seconds) <= target else "MISSED"
        print(f"{name:40} {statistics.median(seconds):9.2f} {max(seconds):10.2f} {target:9.1f}  {verdict}")


if __name__ == "__main__":
    main()
