"""Offline study: how the prior's members should be weighted, over many more splits than photos.py can afford.

photos.py trains AutoML on 3 splits; a rule tuned to win there can be luck. This study replays the part of a
training that decides the served model when the search keeps the prior (every backbone's standard probe: class
prototypes at 2 images a class, logistic regression at C = 1 above), on `--splits` splits (default 20, the first 3
being photos.py's), from features computed once per image:

* `fixed <backbone>`: photos.py's fixed recipe (scikit-learn logistic regression, C = 1, at the backbone's own size);
* `equal`: the prior's members averaged with equal weights;
* `evidence`: weighted by `tailor.automl.search.evidence_weights` on their out-of-fold validation losses, over the
  folds a training makes (`validation_folds`), the members under MIN_WEIGHT dropped, as `Search.ensemble` does;
* `evidence, no threshold`: the rule before aec557e, exp(-(z / EVIDENCE_SCALE)^2 / 2) from z = 0 on;
* `best by validation`: the member with the lowest validation loss alone.

It prints the mean top-1 over photos.py's 3 splits, over the others, and over all, against the best fixed recipe's;
results go to `<out-dir>/ensemble_weights_<data>.json`. Features are kept in `<out-dir>/photos/features_<data>.npz`.

    python benchmarks/ensemble_weights.py                  # IFCT 2017 photographs, 15 test images a class
    python benchmarks/ensemble_weights.py --fashion-mnist --test-per-class 50
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import photos
import torch
from _provenance import code_version
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

from tailor.automl.backbones import available_backbones, prepare_weights
from tailor.automl.features import FeatureCache
from tailor.automl.heads import HeadKind, HeadRecipe, fit_head
from tailor.automl.images import load_images
from tailor.automl.search import EVIDENCE_SCALE, MIN_WEIGHT, PROTOTYPE_SHOTS, STANDARD_C, evidence_weights
from tailor.automl.validation import validation_folds

SHOTS = (2, 5, 10)


def features_of(folder: Path, weights_dir: Path, cache_file: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each backbone's pooled features of every photo at its own input size, and the photos' classes."""
    classes = photos.class_photos(folder)
    paths = [p for members in classes.values() for p in members]
    labels = np.array([c for c, members in enumerate(classes.values()) for _ in members])
    if cache_file.exists():
        stored = np.load(cache_file)
        if np.array_equal(stored["labels"], labels):
            return {k.split(":")[0]: stored[k] for k in stored.files if k.endswith(":0")}, labels
    prepare_weights(weights_dir)
    images = load_images([str(p) for p in paths], lambda url, limit: Path(url).read_bytes())
    cache = FeatureCache(images, weights_dir, torch.device("cpu"))
    features = {b.name: cache.features(b, b.input_size) for b in available_backbones(weights_dir)}
    np.savez(cache_file, labels=labels, **{f"{name}:0": f for name, f in features.items()})
    return features, labels


def unthresholded(losses: list[np.ndarray]) -> np.ndarray:
    """evidence_weights as it was before aec557e: every z above the best's lowers a member's weight."""
    best = losses[int(np.argmin([loss.mean() for loss in losses]))]
    weights = np.ones(len(losses))
    for i, loss in enumerate(losses):
        differences = loss - best
        if differences.mean() > 0:
            z = differences.mean() / max(differences.std(ddof=1) / np.sqrt(len(differences)), 1e-12)
            weights[i] = np.exp(-0.5 * (z / EVIDENCE_SCALE) ** 2)
    return weights / weights.sum()


def draw(labels: np.ndarray, split: int, test_per_class: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """photos.draw's split, as rows: the same seed and the same per-class shuffles."""
    rng = np.random.default_rng(photos.SEED + split)
    test: list[int] = []
    train: dict[int, list[int]] = {k: [] for k in SHOTS}
    for c in range(int(labels.max()) + 1):
        rows = np.flatnonzero(labels == c)
        order = rows[rng.permutation(len(rows))]
        test += order[:test_per_class].tolist()
        for k in SHOTS:
            train[k] += order[test_per_class : test_per_class + k].tolist()
    return np.array(test), {k: np.array(v) for k, v in train.items()}


def one_split(features: dict[str, np.ndarray], labels: np.ndarray, test: np.ndarray, train: np.ndarray,
              shots: int) -> dict[str, float]:
    classes = int(labels.max()) + 1
    targets, truth = labels[train], labels[test]
    head = HeadRecipe(c=STANDARD_C, kind=HeadKind.PROTOTYPE if shots <= PROTOTYPE_SHOTS else HeadKind.LOGISTIC)
    folds = validation_folds(targets, multilabel=False, seed=0)  # TrainingRequest's default seed
    accuracy: dict[str, float] = {}
    tested, losses = [], []
    for name, all_features in features.items():
        x = all_features[train]
        out_of_fold = np.zeros((len(train), classes))
        for fit_rows, valid_rows in folds:
            fitted = fit_head(x[fit_rows], targets[fit_rows], classes, head)
            out_of_fold[valid_rows] = softmax(fitted.logits(x[valid_rows]), axis=1)
        losses.append(-np.log(np.clip(out_of_fold[np.arange(len(train)), targets], 1e-7, 1.0)))
        tested.append(softmax(fit_head(x, targets, classes, head).logits(all_features[test]), axis=1))
        fixed = LogisticRegression(C=photos.LOGREG_C, max_iter=photos.LOGREG_MAX_ITER).fit(x, targets)
        accuracy[f"fixed {name}"] = float((fixed.predict(all_features[test]) == truth).mean() * 100)
    stacked = np.stack(tested)
    accuracy["equal"] = float((stacked.mean(axis=0).argmax(1) == truth).mean() * 100)
    for method, rule in (("evidence", evidence_weights), ("evidence, no threshold", unthresholded)):
        weights = rule(losses)
        weights = np.where(weights >= MIN_WEIGHT, weights, 0.0)
        accuracy[method] = float((np.tensordot(weights / weights.sum(), stacked, 1).argmax(1) == truth).mean() * 100)
    best = int(np.argmin([loss.mean() for loss in losses]))
    accuracy["best by validation"] = float((stacked[best].argmax(1) == truth).mean() * 100)
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=photos.DEFAULT_OUT_DIR)
    parser.add_argument("--fashion-mnist", action="store_true")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--test-per-class", type=int, default=photos.TEST_PER_CLASS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="sklearn")
    work = args.out_dir / "photos"
    work.mkdir(parents=True, exist_ok=True)
    folder = photos.fashion_folder(work) if args.fashion_mnist else photos.ifct_folder(work)
    features, labels = features_of(folder, args.out_dir / "weights", work / f"features_{folder.name}.npz")
    results: dict[int, list[dict[str, float]]] = {k: [] for k in SHOTS}
    for split in range(args.splits):
        test, train = draw(labels, split, args.test_per_class)
        for k in SHOTS:
            results[k].append(one_split(features, labels, test, train[k], k))
    report: dict[str, dict[str, dict[str, float]]] = {}
    for part, chosen in (("photos.py's 3 splits", slice(0, 3)), ("the other splits", slice(3, None)),
                         ("all splits", slice(None))):
        print(f"\n{folder.name}, {part} (mean top-1 %, at {', '.join(map(str, SHOTS))} images a class)")
        report[part] = {}
        for method in results[SHOTS[0]][0]:
            means = [float(np.mean([r[method] for r in results[k][chosen]])) for k in SHOTS]
            report[part][method] = dict(zip(map(str, SHOTS), means))
            print(f"  {method:28s}" + "".join(f"{m:8.1f}" for m in means))
        best = [max(v[str(k)] for m, v in report[part].items() if m.startswith("fixed")) for k in SHOTS]
        print(f"  {'best fixed recipe':28s}" + "".join(f"{m:8.1f}" for m in best))
    path = args.out_dir / f"ensemble_weights_{folder.name}.json"
    path.write_text(json.dumps({"tailor_commit": code_version(), "splits": args.splits,
                                "test_per_class": args.test_per_class, "results": report}, indent=2) + "\n")
    print(f"\nresults written to {path}")


if __name__ == "__main__":
    main()
