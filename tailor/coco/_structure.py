"""The rules of one COCO file that hold whatever the purpose: fields, types, ids, references, boxes.

`check_file` turns the decoded lists into compact columns (numpy arrays and the strings that are needed later)
and a mask of the usable records, so that merging and the quota checks work on clean data while every problem
has already been reported with its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain, compress, count, repeat
from operator import ne, not_
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import numpy as np
from msgspec import UNSET

from ._columns import NOT_AN_OBJECT, Collector, column, duplicates, int_column, odd_positions, str_column
from ._decode import Section, describe
from ._kinds import AnnotationKind
from ._problems import ProblemCode

# Slack on `left + width <= 1`: boxes computed as x/W + w/W can land one rounding step above 1.
BOX_SLACK = 1e-9
_ABSOLUTE_PREFIXES = ("https://", "http://", "file://")
_SCHEMES = frozenset({"https", "http", "file"})
# Tailor's own storage (tailor.blobs.Storage.uri). Honoured only in a file stored there itself (a training
# snapshot): a file a user gives must not name the objects Tailor keeps for others.
_OWN_SCHEME = "tailor"


@dataclass(frozen=True, slots=True)
class CategoryColumns:
    ids: np.ndarray
    names: list[Any]  # str where ok
    ok: np.ndarray


@dataclass(frozen=True, slots=True)
class ImageColumns:
    ids: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    file_name_hashes: np.ndarray  # hash(file_name) where ok: uniqueness without keeping a million strings
    urls: list[Any]  # resolved absolute URI where ok
    ok: np.ndarray


@dataclass(frozen=True, slots=True)
class AnnotationColumns:
    ids: np.ndarray
    image_ids: np.ndarray
    category_ids: np.ndarray
    bboxes: np.ndarray | None  # (n, 4) relative [left, top, width, height]; None for classification
    ok: np.ndarray


C = TypeVar("C", CategoryColumns, ImageColumns, AnnotationColumns)


def _gather(section: Section, out: Collector, cls: type[C], check_chunk: Callable[[list[Any]], C]) -> C:
    """Run `check_chunk` over each chunk of the section (paths offset to the whole list) and join the columns."""
    parts = []
    for offset, records in section.chunks():
        out.offset = offset
        parts.append(check_chunk(records))
    out.offset = 0
    if not parts:
        parts.append(check_chunk([]))
    joined: dict[str, Any] = {}
    for name in cls.__slots__:
        values = [getattr(p, name) for p in parts]
        if values[0] is None:
            joined[name] = None
        elif isinstance(values[0], list):
            joined[name] = list(chain.from_iterable(values)) if len(values) > 1 else values[0]
        else:
            joined[name] = np.concatenate(values) if len(values) > 1 else values[0]
    return cls(**joined)


def _positive_ints(
    records: list[Any], out: Collector, *fields: tuple[str, str, ProblemCode]
) -> tuple[list[np.ndarray], np.ndarray]:
    """(name, meaning, code for values below 1) for each integer field: the arrays, and where all are usable."""
    arrays, ok = [], np.ones(len(records), dtype=bool)
    for name, meaning, below_code in fields:
        array, usable = int_column(column(records, name), out, name, minimum=1, meaning=meaning, below_code=below_code)
        arrays.append(array)
        ok &= usable
    return arrays, ok


def check_categories(section: Section, out: Collector) -> CategoryColumns:
    def chunk(records: list[Any]) -> CategoryColumns:
        (ids,), ids_ok = _positive_ints(records, out, ("id", "a category id", ProblemCode.INVALID_ID))
        names = column(records, "name")
        return CategoryColumns(ids, names, ids_ok & str_column(names, out, "name", meaning="a category name"))

    categories = _gather(section, out, CategoryColumns, chunk)
    _report_duplicate_ids(categories.ids, categories.ok, out, "category")
    return categories


def check_images(section: Section, out: Collector, base_uri: str | None) -> ImageColumns:
    def chunk(records: list[Any]) -> ImageColumns:
        (ids, widths, heights), ok = _positive_ints(
            records, out,
            ("id", "an image id", ProblemCode.INVALID_ID),
            ("width", "the width in pixels", ProblemCode.INVALID_DIMENSION),
            ("height", "the height in pixels", ProblemCode.INVALID_DIMENSION),
        )
        file_names = column(records, "file_name")
        names_ok = str_column(file_names, out, "file_name", meaning="the file name")
        if not names_ok.all():
            file_names = [name if usable else "" for name, usable in zip(file_names, names_ok.tolist())]
        hashes = np.fromiter(map(hash, file_names), dtype=np.int64, count=len(file_names))
        urls, urls_ok = _image_urls(records, out, base_uri)
        return ImageColumns(ids, widths, heights, hashes, urls, ok & names_ok & urls_ok)

    images = _gather(section, out, ImageColumns, chunk)
    _report_duplicate_ids(images.ids, images.ok, out, "image")
    for i, first in duplicates(images.file_name_hashes, images.ok):
        name = section.record(i).file_name
        if name == section.record(first).file_name:  # equal hashes; the names are compared to be sure
            out.add(
                ProblemCode.DUPLICATE_FILE_NAME, i, "file_name",
                f"file name {name!r} is also the file name of {out.at(first)}; file names must be unique",
            )
            images.ok[i] = False
    return images


def check_annotations(
    section: Section,
    out: Collector,
    kind: AnnotationKind,
    images: ImageColumns,
    categories: CategoryColumns,
) -> AnnotationColumns:
    def chunk(records: list[Any]) -> AnnotationColumns:
        (ids, image_ids, category_ids), ok = _positive_ints(
            records, out,
            ("id", "an annotation id", ProblemCode.INVALID_ID),
            ("image_id", "the image id", ProblemCode.UNKNOWN_IMAGE),
            ("category_id", "the category id", ProblemCode.UNKNOWN_CATEGORY),
        )
        ok &= _areas(column(records, "area"), out)
        bboxes = None
        if kind is AnnotationKind.DETECTION:
            bboxes, boxes_ok = _bboxes(column(records, "bbox"), out)
            ok &= boxes_ok
        return AnnotationColumns(ids, image_ids, category_ids, bboxes, ok)

    annotations = _gather(section, out, AnnotationColumns, chunk)
    _report_duplicate_ids(annotations.ids, annotations.ok, out, "annotation")
    ok = annotations.ok
    ok &= _references(annotations.image_ids, ok, out, "image_id", images.ids, images.ok, "images", ProblemCode.UNKNOWN_IMAGE)
    ok &= _references(
        annotations.category_ids, ok, out, "category_id", categories.ids, categories.ok, "categories",
        ProblemCode.UNKNOWN_CATEGORY,
    )
    return annotations


def _report_duplicate_ids(ids: np.ndarray, ok: np.ndarray, out: Collector, what: str) -> None:
    for i, first in duplicates(ids, ok):
        out.add(
            ProblemCode.DUPLICATE_ID, i, "id",
            f"{what} id {int(ids[i])} is also the id of {out.at(first)}; ids must be unique within `{out.section}`",
        )
        ok[i] = False


def _references(
    refs: np.ndarray,
    ok: np.ndarray,
    out: Collector,
    name: str,
    known_ids: np.ndarray,
    known_ok: np.ndarray,
    section: str,
    unknown_code: ProblemCode,
) -> np.ndarray:
    """Which ids point at a usable record of `section`. One that points at a record with problems of its own is
    left out quietly: that record is already reported, and reporting everything pointing at it would bury it."""
    declared = np.isin(refs, known_ids[known_ids >= 1])
    for i in np.flatnonzero(ok & ~declared).tolist():
        out.add(unknown_code, i, name, f"{name.split('_')[0]} id {int(refs[i])} is not the id of any entry of `{section}`")
    return declared & np.isin(refs, known_ids[known_ok])


def _image_urls(records: list[Any], out: Collector, base_uri: str | None) -> tuple[list[Any], np.ndarray]:
    own = _is_own(base_uri)
    prefixes = (*_ABSOLUTE_PREFIXES, f"{_OWN_SCHEME}://") if own else _ABSOLUTE_PREFIXES
    absolute = column(records, "absolute_url")
    n = len(absolute)
    if set(map(type, absolute)) == {str}:
        urls = absolute
        name_of = "absolute_url"
    else:
        coco = column(records, "coco_url")
        urls = [a if type(a) is str or c is UNSET or c is None else c for a, c in zip(absolute, coco)]
        name_of = None
    # Fast path: every URL is an absolute http(s)/file URI (or tailor://, in a file of Tailor's own storage).
    if set(map(type, urls)) == {str} and all(map(str.startswith, urls, repeat(prefixes))):
        return urls, np.ones(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    resolved: list[Any] = list(urls)
    for i, url in enumerate(urls):
        if url is NOT_AN_OBJECT:
            continue
        field = name_of or ("absolute_url" if type(absolute[i]) is str or absolute[i] not in (UNSET, None) else "coco_url")
        if url is UNSET or url is None:
            out.add(
                ProblemCode.MISSING_FIELD, i, "absolute_url",
                "the image has neither `absolute_url` nor `coco_url`; one of them must give the image's URI",
            )
        elif type(url) is not str:
            out.add(ProblemCode.WRONG_TYPE, i, field, f"`{field}` must be a string URI, got {describe(url)}")
        elif (full := _resolve(url, base_uri)) is None:
            out.add(ProblemCode.INVALID_URL, i, field, _bad_url_message(url, base_uri))
        else:
            resolved[i] = full
            ok[i] = True
    return resolved, ok


def _resolve(url: str, base_uri: str | None) -> str | None:
    if not url.strip():
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme in _SCHEMES or (scheme == _OWN_SCHEME and _is_own(base_uri)):
        return url
    if scheme or base_uri is None:
        return None
    if _is_own(base_uri):
        return _join_own(base_uri, url)
    # A relative reference resolves against the annotation file, as in HTML (ours: keeps local datasets portable).
    return urljoin(base_uri, url)


def _is_own(base_uri: str | None) -> bool:
    return base_uri is not None and urlsplit(base_uri).scheme.lower() == _OWN_SCHEME


def _join_own(base_uri: str, url: str) -> str | None:
    """A relative reference in a tailor:// file, resolved as in a file:// one (urljoin leaves references against
    schemes it does not know unresolved, and an unresolved one would be read as a local path)."""
    joined = urljoin("file:///" + base_uri.split("://", 1)[1], url)
    return f"{_OWN_SCHEME}://{joined[len('file:///'):]}" if joined.startswith("file:///") else None


def _bad_url_message(url: str, base_uri: str | None) -> str:
    if not url.strip():
        return "the image URI is empty"
    scheme = urlsplit(url).scheme
    if scheme.lower() == _OWN_SCHEME:
        return (
            f"{url!r} names an object of Tailor's own storage, which only files Tailor stores there may do; "
            "use https:// (Azure Blob Storage), http:// or file://"
        )
    if scheme:
        return f"unsupported URI scheme {scheme!r} in {url!r}; use https:// (Azure Blob Storage), http:// or file://"
    if base_uri is not None:  # only a tailor:// file's references can fail to resolve against its URI
        return f"{url!r} names another host; a relative reference in a tailor:// file stays in Tailor's storage"
    return f"{url!r} is a relative reference, and the annotation file has no URI to resolve it against"


_BOX_RULES = (
    (lambda b: (b[:, 0] < 0) | (b[:, 0] >= 1), "left must be in [0, 1)"),
    (lambda b: (b[:, 1] < 0) | (b[:, 1] >= 1), "top must be in [0, 1)"),
    (lambda b: (b[:, 2] <= 0) | (b[:, 2] > 1), "width must be in (0, 1]"),
    (lambda b: (b[:, 3] <= 0) | (b[:, 3] > 1), "height must be in (0, 1]"),
    (lambda b: b[:, 0] + b[:, 2] > 1 + BOX_SLACK, "left + width must be at most 1"),
    (lambda b: b[:, 1] + b[:, 3] > 1 + BOX_SLACK, "top + height must be at most 1"),
)


_PLACEHOLDER_BOX = [0.0, 0.0, 0.0, 0.0]
_NUMBER_TYPES = frozenset({int, float})  # not bool, not str
_BOX_FORM = "a list of 4 numbers [left, top, width, height], relative to the image (0..1)"


def _bboxes(values: list[Any], out: Collector) -> tuple[np.ndarray, np.ndarray]:
    """Boxes as an (n, 4) array and where they are usable. Odd values are found at C speed, then named one by one."""
    n = len(values)
    ok = np.ones(n, dtype=bool)
    if not (set(map(type, values)) == {list} and set(map(len, values)) == {4}):
        values = list(values)
        for i in odd_positions(values, list):
            value, values[i], ok[i] = values[i], _PLACEHOLDER_BOX, False
            if value is UNSET or value is None:
                out.add(ProblemCode.MISSING_FIELD, i, "bbox", f"`bbox` is required for object detection: {_BOX_FORM}")
            elif value is not NOT_AN_OBJECT:
                out.add(ProblemCode.INVALID_BBOX, i, "bbox", f"`bbox` must be {_BOX_FORM}, got {describe(value)}")
        for i in list(compress(count(), map(ne, map(len, values), repeat(4)))):
            out.add(ProblemCode.INVALID_BBOX, i, "bbox", f"`bbox` must be {_BOX_FORM}, got {describe(values[i])}")
            values[i], ok[i] = _PLACEHOLDER_BOX, False
    flat = list(chain.from_iterable(values))
    if not set(map(type, flat)) <= _NUMBER_TYPES:  # a string, a bool or a null among the numbers
        not_numbers = compress(count(), map(not_, map(_NUMBER_TYPES.__contains__, map(type, flat))))
        for i in sorted({k // 4 for k in not_numbers}):
            out.add(ProblemCode.INVALID_BBOX, i, "bbox", f"`bbox` must be {_BOX_FORM}, got {describe(values[i])}")
            flat[4 * i : 4 * i + 4] = _PLACEHOLDER_BOX
            ok[i] = False
    boxes = np.fromiter(flat, dtype=np.float64, count=4 * n).reshape(n, 4)
    broken = np.zeros(n, dtype=bool)
    for rule, _ in _BOX_RULES:
        broken |= rule(boxes) & ok
    for i in np.flatnonzero(broken).tolist():
        row = boxes[i : i + 1]
        rules = "; ".join(text for rule, text in _BOX_RULES if rule(row)[0])
        shown = ", ".join(f"{v:g}" for v in row[0])
        out.add(
            ProblemCode.BBOX_OUT_OF_RANGE, i, "bbox",
            f"bbox [{shown}] is not a box inside the image in relative coordinates: {rules}",
        )
    return boxes, ok & ~broken


def _areas(values: list[Any], out: Collector) -> np.ndarray:
    n = len(values)
    if set(map(type, values)) <= {type(UNSET), type(None)}:
        return np.ones(n, dtype=bool)
    ok = np.ones(n, dtype=bool)
    for i, value in enumerate(values):
        if value is UNSET or value is None or value is NOT_AN_OBJECT:
            continue
        if type(value) not in (int, float) or value < 0:
            out.add(ProblemCode.INVALID_AREA, i, "area", f"`area` must be a number >= 0 when given, got {describe(value)}")
            ok[i] = False
    return ok


