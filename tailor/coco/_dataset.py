"""A dataset: one or more checked COCO files merged into compact columns, ready for quotas and training.

Merging (ours, API.md): ids are scoped per file; categories are joined by name across files; an image whose URI an
earlier file already gave is that image, and its annotations are pooled. Within one file every record stands for
itself: two categories sharing a name stay two classes (a warning), two images sharing a URI stay two images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypedDict

import numpy as np

from ._kinds import AnnotationKind
from ._problems import Problem, ProblemCode
from ._structure import AnnotationColumns, CategoryColumns, ImageColumns

IMBALANCE_RATIO = 10  # warn when the largest category has more than 10x the images of the smallest


class DatasetStats(TypedDict):
    images: int
    categories: int
    annotations: int
    imagesPerCategory: dict[str, int]  # camelCase: the key as the reports spell it


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """The usable part of one file, after `check_file`; columns are None when the file could not be read."""

    name: str
    categories: CategoryColumns | None
    images: ImageColumns | None
    annotations: AnnotationColumns | None
    complete: bool = False  # every list was there and was a list


@dataclass(frozen=True)
class CocoDataset:
    """Merged, clean records. Indices, not ids: `annotation_images[k]` is a row of the image columns."""

    kind: AnnotationKind
    categories: tuple[str, ...]
    image_urls: list[str]  # absolute URIs: an image is known by its URI once files are merged
    image_widths: np.ndarray
    image_heights: np.ndarray
    annotation_images: np.ndarray
    annotation_categories: np.ndarray
    annotation_bboxes: np.ndarray | None  # (n, 4), relative [left, top, width, height]
    # Where each record was declared, so that problems found after merging point into the user's files.
    sources: tuple[str, ...] = ()
    category_origins: tuple[tuple[int, int], ...] = ()
    image_sources: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    image_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def num_images(self) -> int:
        return len(self.image_urls)

    def images_per_category(self) -> np.ndarray:
        """Distinct images that carry each category."""
        return np.bincount(self._pairs % self._width, minlength=len(self.categories))

    def categories_per_image(self) -> np.ndarray:
        return np.bincount(self._pairs // self._width, minlength=self.num_images)

    def regions_per_image(self) -> np.ndarray:
        return np.bincount(self.annotation_images, minlength=self.num_images)

    @property
    def _width(self) -> int:
        return max(len(self.categories), 1)

    @cached_property
    def _pairs(self) -> np.ndarray:
        """Distinct (image, category) pairs, encoded as image * categories + category."""
        keys = np.sort(self.annotation_images.astype(np.int64) * self._width + self.annotation_categories)
        return keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys

    @property
    def multilabel(self) -> bool:
        """A classification dataset in which some image carries several categories."""
        if self.kind is not AnnotationKind.CLASSIFICATION or self.annotation_images.size == 0:
            return False
        return bool((self.categories_per_image() > 1).any())

    def image_path(self, index: int, name: str | None = None) -> tuple[str, str]:
        """(file, JSON path) where image `index` was declared."""
        where = f"images[{int(self.image_positions[index])}]" + (f".{name}" if name else "")
        return self.sources[int(self.image_sources[index])], where

    def category_path(self, index: int) -> tuple[str, str]:
        source, position = self.category_origins[index]
        return self.sources[source], f"categories[{position}]"

    def stats(self) -> DatasetStats:
        per_category = self.images_per_category()
        return {
            "images": self.num_images,
            "categories": len(self.categories),
            "annotations": int(self.annotation_images.size),
            "imagesPerCategory": _sum_by_name(self.categories, per_category.tolist()),
        }


def _sum_by_name(names: tuple[str, ...], counts: list[int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for name, count in zip(names, counts):
        totals[name] = totals.get(name, 0) + count
    return totals


def merge(files: list[CheckedFile], kind: AnnotationKind) -> CocoDataset:
    names: dict[str, int] = {}  # first class of each name
    category_names: list[str] = []
    category_origins: list[tuple[int, int]] = []
    urls = _ImageIndex()
    widths: list[np.ndarray] = []
    heights: list[np.ndarray] = []
    image_sources: list[np.ndarray] = []
    image_positions: list[np.ndarray] = []
    annotation_images: list[np.ndarray] = []
    annotation_categories: list[np.ndarray] = []
    annotation_bboxes: list[np.ndarray] = []

    for source, checked in enumerate(files):
        cats, images, anns = checked.categories, checked.images, checked.annotations
        if cats is None or images is None or anns is None:
            continue
        category_rows = np.flatnonzero(cats.ok)
        category_index = np.empty(category_rows.size, dtype=np.int64)
        in_this_file: set[str] = set()
        for k, row in enumerate(category_rows.tolist()):
            name = cats.names[row]
            # Joined by name across files; two categories of one file that share a name stay two classes
            # (API.md: a duplicate name is a warning, not a merge).
            if name in in_this_file or name not in names:
                category_index[k] = len(category_origins)
                names.setdefault(name, len(category_origins))
                category_origins.append((source, row))
                category_names.append(name)
            else:
                category_index[k] = names[name]
            in_this_file.add(name)

        image_rows = np.flatnonzero(images.ok)
        every = image_rows.size == len(images.urls)
        image_index, new = urls.add(images.urls if every else [images.urls[r] for r in image_rows.tolist()])
        new = image_rows[new]
        widths.append(images.widths[new])
        heights.append(images.heights[new])
        image_sources.append(np.full(new.size, source, dtype=np.int32))
        image_positions.append(new)

        usable = slice(None) if anns.ok.all() else np.flatnonzero(anns.ok)  # a slice takes no copy
        annotation_images.append(_lookup(images.ids[image_rows], image_index, anns.image_ids[usable]))
        annotation_categories.append(_lookup(cats.ids[category_rows], category_index, anns.category_ids[usable]))
        if anns.bboxes is not None:
            annotation_bboxes.append(anns.bboxes[usable])

    return CocoDataset(
        kind=kind,
        categories=tuple(category_names),
        image_urls=urls.urls,
        image_widths=_concat(widths, np.int64),
        image_heights=_concat(heights, np.int64),
        annotation_images=_concat(annotation_images, np.int64),
        annotation_categories=_concat(annotation_categories, np.int64),
        annotation_bboxes=_concat(annotation_bboxes, np.float64, (0, 4)) if kind is AnnotationKind.DETECTION else None,
        sources=tuple(f.name for f in files),
        category_origins=tuple(category_origins),
        image_sources=_concat(image_sources, np.int32),
        image_positions=_concat(image_positions, np.int64),
    )


class _ImageIndex:
    """Merged image URIs. An image whose URI an earlier file already gave is that image; within one file each
    record is an image of its own. So the URI -> index dict is built only once a second file brings images: a
    single file, the usual case, needs none, and a million-entry dict is worth avoiding."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._index: dict[str, int] = {}
        self._indexed = 0  # how many of `urls` are in `_index`

    def add(self, incoming: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each incoming URI's merged index, and the positions of the incoming URIs that were new."""
        start = len(self.urls)
        if start == 0:
            self.urls = list(incoming)
            every = np.arange(len(incoming), dtype=np.int64)
            return every, every
        for position in range(self._indexed, start):  # index what earlier files brought, first one wins
            self._index.setdefault(self.urls[position], position)
        self._indexed = start
        get = self._index.get
        index = np.fromiter((get(u, -1) for u in incoming), dtype=np.int64, count=len(incoming))
        new = np.flatnonzero(index < 0)
        index[new] = np.arange(start, start + new.size)
        self.urls.extend(incoming[i] for i in new.tolist())
        return index, new


def _lookup(ids: np.ndarray, index: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """index[k] for each wanted id, where ids[k] == id (every wanted id is present and ids are unique)."""
    order = np.argsort(ids, kind="stable")
    return index[order[np.searchsorted(ids, wanted, sorter=order)]]


def _concat(parts: list[np.ndarray], dtype: type, empty: tuple[int, ...] = (0,)) -> np.ndarray:
    if len(parts) == 1:  # one file: no copy
        return parts[0].astype(dtype, copy=False)
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty, dtype=dtype)


def dataset_warnings(dataset: CocoDataset) -> list[Problem]:
    """Warnings about the merged dataset: usable, but probably not what was meant."""
    warnings: list[Problem] = []
    per_category = dataset.images_per_category()
    for c in np.flatnonzero(per_category == 0).tolist():
        file, path = dataset.category_path(c)
        warnings.append(
            Problem(
                ProblemCode.CATEGORY_WITHOUT_IMAGES, path,
                f"category {dataset.categories[c]!r} has no images; it cannot be learned or predicted", file,
            )
        )
    for i in np.flatnonzero(dataset.regions_per_image() == 0).tolist():
        file, path = dataset.image_path(i)
        what = (
            "it is used as a background image with no objects"
            if dataset.kind is AnnotationKind.DETECTION
            else "it cannot be used to train or evaluate a classifier"
        )
        warnings.append(Problem(ProblemCode.IMAGE_WITHOUT_ANNOTATIONS, path, f"the image has no annotations; {what}", file))
    used = per_category[per_category > 0]
    if used.size >= 2 and used.max() > IMBALANCE_RATIO * used.min():
        big, small = int(np.argmax(np.where(per_category > 0, per_category, -1))), int(
            np.argmin(np.where(per_category > 0, per_category, np.iinfo(np.int64).max))
        )
        warnings.append(
            Problem(
                ProblemCode.CLASS_IMBALANCE, "categories",
                f"classes are imbalanced worse than 1:{IMBALANCE_RATIO}: {dataset.categories[big]!r} has "
                f"{int(per_category[big])} images, {dataset.categories[small]!r} only {int(per_category[small])}; "
                "add images to the small classes for a better model",
                dataset.sources[0] if len(dataset.sources) == 1 else None,
            )
        )
    return warnings


def duplicate_name_warnings(checked: CheckedFile) -> list[Problem]:
    cats = checked.categories
    if cats is None:
        return []
    first: dict[str, int] = {}
    warnings = []
    for row in np.flatnonzero(cats.ok).tolist():
        name = cats.names[row]
        earlier = first.setdefault(name, row)
        if earlier != row:
            warnings.append(
                Problem(
                    ProblemCode.DUPLICATE_CATEGORY_NAME, f"categories[{row}].name",
                    f"category name {name!r} is also the name of categories[{earlier}]; two classes with one name "
                    "cannot be told apart in predictions, which may harm the model",
                    checked.name,
                )
            )
    return warnings
