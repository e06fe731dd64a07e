"""Datasets: named pointers at COCO files, validated when registered or changed.

The rules of a Dataset live here; `tailor.api` only translates the wire format to and from these calls, and the
workers call `load` to read a dataset for training.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .blobs import Access, BlobReader
from .coco import Problem, ProblemCode, Purpose, ValidationReport, validate_coco
from .errors import AlreadyExists, BlobError, BlobTooLarge, EtagMismatch, NotFound, TailorError
from .records import Dataset, DatasetSpec, check_name

if TYPE_CHECKING:
    from .store import Page, Store

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class DatasetChanges:
    """A PATCH (ours): URIs and authentication are replaced, custom properties merged (null removes a key)."""

    annotation_file_uris: tuple[str, ...] | None = None
    custom_properties: Mapping[str, str | None] | None = None
    access: Access | None = None

    def applied_to(self, spec: DatasetSpec) -> DatasetSpec:
        properties = dict(spec.custom_properties)
        for key, value in (self.custom_properties or {}).items():
            if value is None:
                properties.pop(key, None)
            else:
                properties[key] = value
        return replace(
            spec,
            annotation_file_uris=self.annotation_file_uris or spec.annotation_file_uris,
            custom_properties=properties,
            access=self.access or spec.access,
        )

    @property
    def touches_files(self) -> bool:
        return self.annotation_file_uris is not None or self.access is not None


class InvalidAnnotations(TailorError):
    """The annotation files cannot be read, or are not valid COCO of the dataset's kind; `problems` lists all."""

    def __init__(self, problems: list[Problem]):
        files = len({p.file for p in problems})
        super().__init__(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the annotation files "
            f"({files} file{'s' if files != 1 else ''}); see details"
        )
        self.problems = problems


class DatasetService:
    def __init__(self, store: Store, reader: BlobReader, max_annotation_bytes: int):
        self._store = store
        self._reader = reader
        self._max_bytes = max_annotation_bytes

    def register(self, name: str, spec: DatasetSpec) -> Dataset:
        check_name(name)
        try:  # a name already taken fails at once, before any file is read
            self._store.datasets.get(name)
        except NotFound:
            pass
        else:
            raise AlreadyExists("dataset", name)
        self.load(spec, purpose=None)
        return self._store.datasets.insert(name, spec)

    def get(self, name: str) -> Dataset:
        return self._store.datasets.get(check_name(name))

    def list(self, skip: int, top: int) -> Page[Dataset]:
        return self._store.datasets.list(skip, top)

    def update(self, name: str, changes: DatasetChanges, if_match: str | None) -> Dataset:
        current = self._store.datasets.get(check_name(name))
        if if_match is not None and if_match != current.etag:
            raise EtagMismatch("dataset", name)
        spec = changes.applied_to(current.spec)
        if changes.touches_files:
            self.load(spec, purpose=None)
        # Compare-and-set on the eTag read above: a concurrent change in between is refused, not overwritten.
        return self._store.datasets.replace(name, spec, current.etag)

    def delete(self, name: str, if_match: str | None) -> None:
        self._store.datasets.delete(check_name(name), if_match)

    def load(self, spec: DatasetSpec, purpose: Purpose | None) -> ValidationReport:
        """Read and validate every annotation file; raise InvalidAnnotations listing every problem."""
        unreadable: list[Problem] = []

        def sources():
            for uri in dict.fromkeys(spec.annotation_file_uris):
                try:
                    yield self._reader.annotation_file(uri, access=spec.access, max_bytes=self._max_bytes)
                except BlobError as exc:
                    unreadable.append(unreadable_file(uri, exc))

        report = validate_coco(sources(), spec.annotation_kind, purpose)
        if unreadable or report.errors:
            raise InvalidAnnotations(unreadable + report.errors)
        if report.warnings:
            log.info("dataset loaded with %d warnings", len(report.warnings))
        return report


def unreadable_file(uri: str, exc: BlobError) -> Problem:
    """The problem of an annotation file the blob layer could not read (or that is over the size limit)."""
    code = ProblemCode.FILE_TOO_LARGE if isinstance(exc, BlobTooLarge) else ProblemCode.FILE_UNREADABLE
    return Problem(code, "$", f"cannot read the annotation file: {exc.reason}", uri)
