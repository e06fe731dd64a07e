"""The quota table of API.md: limits that depend on the annotation kind and the purpose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._kinds import AnnotationKind, Purpose
from ._problems import Problem, ProblemCode

if TYPE_CHECKING:
    from ._dataset import CocoDataset

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # "under 20 MB"
ALLOWED_IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "BMP", "WEBP", "ICO", "TIFF", "MPO"})  # Pillow's names


@dataclass(frozen=True, slots=True)
class Quota:
    min_images_per_category: int
    max_images: int
    min_categories: int
    max_categories: int
    max_regions_per_image: int | None
    min_image_side: int
    max_image_side: int


_CLASSIFIER_TRAINING = Quota(
    min_images_per_category=2,
    max_images=1_000_000,
    min_categories=2,
    max_categories=2500,
    max_regions_per_image=None,
    # API.md names no training minimum side; 10 px is what the official checker enforces.
    min_image_side=10,
    max_image_side=10_240,
)
_DETECTOR_TRAINING = Quota(
    min_images_per_category=1,
    max_images=200_000,
    min_categories=1,
    max_categories=2000,  # API.md names none for detectors; the official checker's limit
    max_regions_per_image=1000,
    min_image_side=10,
    max_image_side=10_240,
)
_QUOTAS = {
    (AnnotationKind.CLASSIFICATION, Purpose.TRAINING): _CLASSIFIER_TRAINING,
    (AnnotationKind.CLASSIFICATION, Purpose.EVALUATION): Quota(
        min_images_per_category=1,
        max_images=100_000,
        min_categories=2,
        max_categories=2500,
        max_regions_per_image=None,
        min_image_side=50,
        max_image_side=16_000,
    ),
    (AnnotationKind.DETECTION, Purpose.TRAINING): _DETECTOR_TRAINING,
    (AnnotationKind.DETECTION, Purpose.EVALUATION): Quota(
        min_images_per_category=1,
        max_images=100_000,
        min_categories=1,
        max_categories=2000,
        max_regions_per_image=1000,
        min_image_side=50,
        max_image_side=16_000,
    ),
}


def quota_for(kind: AnnotationKind, purpose: Purpose) -> Quota:
    return _QUOTAS[(kind, purpose)]


def max_categories(kind: AnnotationKind) -> int:
    """The most categories a dataset of this kind may have for any purpose: past it, nothing can use the file."""
    return max(quota.max_categories for (of_kind, _), quota in _QUOTAS.items() if of_kind is kind)


def check_category_count(count: int, kind: AnnotationKind, file: str | None) -> Problem | None:
    """Whatever the purpose: refused at once, before a record of a file with a million categories is checked."""
    limit = max_categories(kind)
    if count <= limit:
        return None
    return Problem(
        ProblemCode.TOO_MANY_CATEGORIES, "categories",
        f"{count:,} categories; a {kind.role} is trained and evaluated on at most {limit:,}: merge or drop categories",
        file,
    )


def check_quotas(dataset: CocoDataset, purpose: Purpose) -> list[Problem]:
    """The limits of API.md's quota table for this dataset's kind and `purpose`."""
    quota = quota_for(dataset.kind, purpose)
    role = dataset.kind.role
    for_what = f"{purpose.value} a {role}" if purpose is Purpose.TRAINING else f"{purpose.value} of a {role}"
    whole_file = dataset.sources[0] if len(dataset.sources) == 1 else None
    problems: list[Problem] = []

    def whole(code: ProblemCode, path: str, message: str) -> None:
        problems.append(Problem(code, path, message, whole_file))

    n_images = dataset.num_images
    if n_images < quota.min_images_per_category:
        whole(ProblemCode.TOO_FEW_IMAGES, "images", f"{n_images} usable images; {for_what} needs at least {quota.min_images_per_category}")
    if n_images > quota.max_images:
        whole(
            ProblemCode.TOO_MANY_IMAGES, "images",
            f"{n_images:,} images; {for_what} takes at most {quota.max_images:,}: split the dataset or sample it",
        )
    n_categories = len(dataset.categories)
    if n_categories < quota.min_categories:
        whole(
            ProblemCode.TOO_FEW_CATEGORIES, "categories",
            f"{n_categories} usable categories; {for_what} needs at least {quota.min_categories}",
        )
    if n_categories > quota.max_categories:
        whole(
            ProblemCode.TOO_MANY_CATEGORIES, "categories",
            f"{n_categories:,} categories; {for_what} takes at most {quota.max_categories:,}",
        )

    per_category = dataset.images_per_category()
    short = np.flatnonzero((per_category > 0) & (per_category < quota.min_images_per_category))
    for c in short.tolist():
        file, path = dataset.category_path(c)
        problems.append(
            Problem(
                ProblemCode.TOO_FEW_IMAGES_PER_CATEGORY, path,
                f"category {dataset.categories[c]!r} has {int(per_category[c])} image(s); {for_what} needs at least "
                f"{quota.min_images_per_category} images per category",
                file,
            )
        )

    if quota.max_regions_per_image is not None:
        regions = dataset.regions_per_image()
        for i in np.flatnonzero(regions > quota.max_regions_per_image).tolist():
            file, path = dataset.image_path(i)
            problems.append(
                Problem(
                    ProblemCode.TOO_MANY_REGIONS, path,
                    f"the image has {int(regions[i]):,} regions; at most {quota.max_regions_per_image:,} per image",
                    file,
                )
            )

    for name, sides in (("width", dataset.image_widths), ("height", dataset.image_heights)):
        for i in np.flatnonzero(sides < quota.min_image_side).tolist():
            file, path = dataset.image_path(i, name)
            problems.append(
                Problem(
                    ProblemCode.IMAGE_TOO_SMALL, path,
                    f"{name} {int(sides[i])} px is below the {quota.min_image_side} px minimum for {purpose.value}",
                    file,
                )
            )
        for i in np.flatnonzero(sides > quota.max_image_side).tolist():
            file, path = dataset.image_path(i, name)
            problems.append(
                Problem(
                    ProblemCode.IMAGE_TOO_LARGE, path,
                    f"{name} {int(sides[i])} px is above the {quota.max_image_side:,} px maximum for {purpose.value}",
                    file,
                )
            )
    return problems
