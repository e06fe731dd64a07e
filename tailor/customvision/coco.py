"""Importing a COCO file into a project (ours: the Custom Vision API has no import): all of it or nothing.

The file is validated by the COCO toolkit against the project's kind; the images it names are read through the blob
layer (under its address policy) and checked as uploads are; the project's own limits are checked. Any problem: every
problem is reported (`InvalidCoco`) and nothing is written. Otherwise the categories become tags (by name, created
where the project has none of that name) and the images are recorded in one transaction with their tags (a
classifier) or regions (a detector). Images the project already has (the same bytes) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..coco import AnnotationKind, CocoSource, Problem, ProblemCode, kind_mismatch, validate_coco
from ..datasets import unreadable_file
from ..errors import BlobError
from .codes import ClassificationType, ErrorCode, ImageCreateStatus
from .errors import CustomVisionError
from .images import MAX_IMAGES_PER_PROJECT, MAX_REGIONS_PER_IMAGE, MAX_TAGS_PER_IMAGE, BoxIn, ImageService, Staged
from .projects import MAX_NAME, MAX_TAGS_PER_PROJECT, ProjectService
from .records import Project

MAX_IMPORT_IMAGES = 5000  # images one import may name: they are read while the call waits
_IMAGE_PROBLEM = {ImageCreateStatus.ERROR_SOURCE: ProblemCode.IMAGE_UNREADABLE,
                  ImageCreateStatus.ERROR_STORAGE: ProblemCode.IMAGE_UNREADABLE,
                  ImageCreateStatus.ERROR_IMAGE_SIZE: ProblemCode.IMAGE_FILE_TOO_LARGE,
                  ImageCreateStatus.ERROR_IMAGE_FORMAT: ProblemCode.IMAGE_UNDECODABLE,
                  ImageCreateStatus.ERROR_IMAGE_DIMENSIONS: ProblemCode.INVALID_DIMENSION}


class InvalidCoco(CustomVisionError):
    """A COCO import refused: `problems` lists every problem found; nothing was written."""

    def __init__(self, problems: list[Problem]):
        count = len(problems)
        super().__init__(ErrorCode.INVALID_COCO, f"{count} problem{'s' if count != 1 else ''} in the COCO file: "
                         "nothing was imported; `problems` lists each with its file and JSON path")
        self.problems = problems


@dataclass(frozen=True)
class CocoImportSummary:
    """What an import did (with `validate_only`, what it would do: nothing was written)."""

    validate_only: bool
    kind: AnnotationKind
    images: int  # in the file
    images_added: int
    duplicates_skipped: int  # images the project (or the file, earlier) already had: the same bytes
    tags_created: tuple[str, ...]
    tags_reused: tuple[str, ...]
    tagged: int  # tags given to images (a classifier)
    regions: int  # regions added (a detector)
    warnings: list[Problem] = field(default_factory=list)


class CocoImporter:
    def __init__(self, projects: ProjectService, images: ImageService,
                 read_annotation: Callable[[str, int], CocoSource], max_file_bytes: int):
        """`read_annotation(uri, max_bytes)` reads an annotation file through the blob layer (its address policy)."""
        self._projects = projects
        self._images = images
        self._read = read_annotation
        self.max_file_bytes = max_file_bytes

    def run(self, project_id: str, source: CocoSource | str, validate_only: bool = False) -> CocoImportSummary:
        """`source`: the file itself, or the URI to read it from."""
        project = self._projects.get(project_id)
        kind = project.domain.type.annotation_kind
        if isinstance(source, str):
            uri = source
            try:
                source = self._read(uri, self.max_file_bytes)
            except BlobError as exc:
                raise InvalidCoco([unreadable_file(uri, exc)]) from None
        if len(source.data) > self.max_file_bytes:
            raise InvalidCoco([Problem(ProblemCode.FILE_TOO_LARGE, "$", f"the file is over the "
                                       f"{self.max_file_bytes // (1024 * 1024)} MB limit", source.name)])
        article = "an object detection" if kind is AnnotationKind.DETECTION else "a classification"
        what = f"project {project.name!r} is {article} project"
        mismatch = kind_mismatch(source.data, kind, source.name, what)
        if mismatch is not None:  # the rest of the file checked as what it is, so that every problem is shown
            other = next(k for k in AnnotationKind if k is not kind)
            report = validate_coco([source], other)
            raise InvalidCoco([mismatch, *report.errors])
        report = validate_coco([source], kind)
        dataset = report.dataset
        problems = [*report.errors, *self._project_problems(project, dataset, source.name)]
        staged: list[Staged] = []
        keep = not validate_only and not problems
        if dataset.num_images <= MAX_IMPORT_IMAGES:
            staged = self._images.stage(project.id, dataset.image_urls, keep)
            problems += _image_problems(dataset, staged)
        if problems:
            if keep:
                self._images.discard(project.id, staged)
            raise InvalidCoco(problems)
        try:
            return self._write(project, dataset, staged, validate_only, report.warnings)
        except BaseException:
            if keep:
                self._images.discard(project.id, staged)
            raise

    def _project_problems(self, project: Project, dataset, file: str) -> list[Problem]:
        problems: list[Problem] = []
        if dataset.num_images > MAX_IMPORT_IMAGES:
            problems.append(Problem(ProblemCode.TOO_MANY_IMAGES, "images", f"the file has {dataset.num_images} "
                                    f"images; one import takes at most {MAX_IMPORT_IMAGES}: split the file", file))
        room = MAX_IMAGES_PER_PROJECT - self._images.count(project.id)
        if dataset.num_images > room:
            problems.append(Problem(ProblemCode.TOO_MANY_IMAGES, "images", f"the file has {dataset.num_images} "
                                    f"images and the project has room for {room} (at most "
                                    f"{MAX_IMAGES_PER_PROJECT} images)", file))
        for c, name in enumerate(dataset.categories):
            if len(name.strip()) > MAX_NAME:
                where = dataset.category_path(c)
                problems.append(Problem(ProblemCode.NAME_TOO_LONG, f"{where[1]}.name", f"the category name is "
                                        f"{len(name.strip())} characters; a tag name has at most {MAX_NAME}", where[0]))
        existing = {t.name.casefold() for t in self._projects.tags(project.id)}
        new = {name.strip().casefold() for name in dataset.categories} - existing
        if len(existing) + len(new) > MAX_TAGS_PER_PROJECT:
            problems.append(Problem(ProblemCode.TOO_MANY_CATEGORIES, "categories", f"the file's categories would "
                                    f"add {len(new)} tags to the project's {len(existing)}; a project has at most "
                                    f"{MAX_TAGS_PER_PROJECT}", file))
        if dataset.kind is AnnotationKind.DETECTION:
            limit, per_image, what = MAX_REGIONS_PER_IMAGE, dataset.regions_per_image(), "regions"
        else:
            limit, per_image, what = MAX_TAGS_PER_IMAGE, dataset.categories_per_image(), "categories"
            if project.classification_type is ClassificationType.MULTICLASS:
                for i in np.flatnonzero(per_image > 1).tolist():
                    where = dataset.image_path(i)
                    problems.append(Problem(
                        ProblemCode.TOO_MANY_CATEGORIES, where[1], f"the image has {int(per_image[i])} categories "
                        f"and project {project.name!r} is Multiclass (one tag an image): import it into a Multilabel "
                        "project, or keep one category for the image", where[0]))
        for i in np.flatnonzero(per_image > limit).tolist():
            where = dataset.image_path(i)
            problems.append(Problem(ProblemCode.TOO_MANY_REGIONS, where[1], f"the image has {int(per_image[i])} "
                                    f"{what}; an image has at most {limit}", where[0]))
        return problems

    def _write(self, project: Project, dataset, staged: list[Staged], validate_only: bool,
               warnings: list[Problem]) -> CocoImportSummary:
        tags = {t.name.casefold(): t for t in self._projects.tags(project.id)}
        reused = tuple(dict.fromkeys(tags[n.strip().casefold()].name for n in dataset.categories
                                     if n.strip().casefold() in tags))
        created = tuple(dict.fromkeys(n.strip() for n in dataset.categories if n.strip().casefold() not in tags))
        known = self._images.known(project.id, staged)
        seen: set[str] = set()
        keep: list[int] = []  # rows of the images to add
        skipped: list[Staged] = []
        for row, item in enumerate(staged):
            assert item.new is not None
            if item.new.digest in known or item.new.digest in seen:
                skipped.append(item)
                continue
            seen.add(item.new.digest)
            keep.append(row)
        rows = dataset.annotation_images
        wanted = np.isin(rows, keep)
        tagged = regions = 0
        if validate_only:
            if dataset.kind is AnnotationKind.DETECTION:
                regions = int(wanted.sum())
            else:
                tagged = len(np.unique(rows[wanted].astype(np.int64) * max(len(dataset.categories), 1)
                                       + dataset.annotation_categories[wanted]))
            return CocoImportSummary(True, dataset.kind, dataset.num_images, len(keep), len(skipped), created,
                                     reused, tagged, regions, warnings)
        for name in created:
            tags[name.casefold()] = self._projects.create_tag(project.id, name, None, None)
        tag_of = [tags[n.strip().casefold()].id for n in dataset.categories]
        image_tags: dict[int, list[str]] = {row: [] for row in keep}
        image_boxes: dict[int, list[BoxIn]] = {row: [] for row in keep}
        boxes = dataset.annotation_bboxes
        for k, (row, category) in enumerate(zip(rows.tolist(), dataset.annotation_categories.tolist())):
            if row not in image_tags:
                continue
            if boxes is None:
                image_tags[row].append(tag_of[category])
            else:
                left, top, width, height = boxes[k].tolist()
                image_boxes[row].append(BoxIn(tag_of[category], left, top, width, height))
        entries = [(staged[row], tuple(dict.fromkeys(image_tags[row])), tuple(image_boxes[row])) for row in keep]
        self._images.discard(project.id, skipped)  # a copy stored for an image the file named twice
        self._images.commit(project.id, entries)
        tagged = sum(len(t) for _, t, _ in entries)
        regions = sum(len(b) for _, _, b in entries)
        return CocoImportSummary(False, dataset.kind, dataset.num_images, len(keep), len(skipped), created, reused,
                                 tagged, regions, warnings)


def _image_problems(dataset, staged: list[Staged]) -> list[Problem]:
    problems = []
    for i, item in enumerate(staged):
        if item.status is ImageCreateStatus.OK:
            continue
        file, path = dataset.image_path(i)
        code = _IMAGE_PROBLEM.get(item.status, ProblemCode.IMAGE_UNREADABLE)
        reason = item.reason or item.status.value
        if item.status is ImageCreateStatus.ERROR_STORAGE:
            reason = "the image was read but could not be stored: try again"
        problems.append(Problem(code, path, f"image {dataset.image_urls[i]}: {reason}", file))
    return problems
