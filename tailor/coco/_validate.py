"""Validation of one dataset: every file checked, merged, held to the quotas; one report, never an exception."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._columns import Collector
from ._dataset import CheckedFile, CocoDataset, dataset_warnings, duplicate_name_warnings, merge
from ._decode import DocumentError, Section, decode_document, decode_section, strip_bom
from ._kinds import AnnotationKind, Purpose
from ._problems import Problem, Severity
from ._quotas import check_category_count, check_quotas
from ._structure import check_annotations, check_categories, check_images


@dataclass(frozen=True, slots=True)
class CocoSource:
    """One annotation file's bytes. `name` is how problems name the file; relative image references resolve
    against `base_uri` (an absolute URI of the file), when there is one."""

    name: str
    data: bytes
    base_uri: str | None = None


@dataclass(frozen=True)
class ValidationReport:
    kind: AnnotationKind
    purpose: Purpose | None  # None: structure only, quotas not checked
    dataset: CocoDataset
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def multilabel(self) -> bool:
        return self.dataset.multilabel

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "kind": self.kind.short,
            "purpose": self.purpose.value if self.purpose else None,
            "multilabel": self.multilabel,
            "stats": self.dataset.stats(),
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
        }


def check_file(source: CocoSource, kind: AnnotationKind) -> tuple[CheckedFile, list[Problem]]:
    """The rules of one file that hold whatever the purpose."""
    problems: list[Problem] = []

    def section(name: str) -> tuple[Section, Collector]:
        return decode_section(document, name, source.name), Collector(source.name, name)

    def collect(found: Section, out: Collector) -> None:
        problems.extend(found.problems)
        problems.extend(out.problems)

    try:
        document = decode_document(strip_bom(source.data, source.name), source.name)
        found_categories, out = section("categories")
        too_many = check_category_count(len(found_categories), kind, source.name)
        if too_many is not None:  # no purpose could use the file: its records are not worth checking
            return CheckedFile(source.name, None, None, None), [*found_categories.problems, too_many]
        categories = check_categories(found_categories, out)
        collect(found_categories, out)
        # One list at a time: its entries are split out, checked and dropped before the next list's.
        found_images, out = section("images")
        images = check_images(found_images, out, source.base_uri)
        collect(found_images, out)
        found_images.raws = found_images.raws and []  # keep "was it a list", drop the list
        found, out = section("annotations")
        annotations = check_annotations(found, out, kind, images, categories)
        collect(found, out)
    except DocumentError as exc:
        return CheckedFile(source.name, None, None, None), [exc.problem]
    complete = all(section.raws is not None for section in (found_categories, found_images, found))
    return CheckedFile(source.name, categories, images, annotations, complete), problems


def validate_coco(
    sources: Iterable[CocoSource | Problem],
    kind: AnnotationKind,
    purpose: Purpose | None = None,
) -> ValidationReport:
    """Check every file, merge them into one dataset and, when `purpose` is given, hold it to that purpose's quotas.

    `sources` may be a generator: each file's bytes are released once the file is checked. A Problem in place of
    a source stands for a file that could not be taken at all (e.g. over the size limit): it is reported, and the
    quotas, which would count a dataset without that file, are not checked.
    """
    checked: list[CheckedFile] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for source in sources:
        if isinstance(source, Problem):
            checked.append(CheckedFile(source.file or "", None, None, None))
            problems.append(source)
            continue
        if source.name in seen:  # the same file listed twice is read once
            continue
        seen.add(source.name)
        one, found = check_file(source, kind)
        checked.append(one)
        problems.extend(found)
        problems.extend(duplicate_name_warnings(one))
    dataset = merge(checked, kind)
    # Counting what is left of a file that could not be read would only bury its real problem.
    if all(one.complete for one in checked):
        problems.extend(dataset_warnings(dataset))
        if purpose is not None:
            problems.extend(check_quotas(dataset, purpose))
        elif (too_many := check_category_count(len(dataset.categories), kind, _one_file(checked))) is not None:
            problems.append(too_many)  # files each within the limit, joined past it
    errors = [p for p in problems if p.severity is Severity.ERROR]
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    return ValidationReport(kind, purpose, dataset, errors, warnings)


def _one_file(checked: list[CheckedFile]) -> str | None:
    return checked[0].name if len(checked) == 1 else None
