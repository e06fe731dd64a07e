"""Which kind of annotation a COCO file carries, read from the file itself: boxes (`bbox`) or none.

For callers that are told a kind (a Custom Vision project is a classifier or a detector) and want to say, in one
clear problem, that the file is of the other kind, rather than a problem per annotation."""

from __future__ import annotations

from typing import Any

import msgspec

from ._kinds import AnnotationKind
from ._problems import Problem, ProblemCode


class _Annotation(msgspec.Struct):
    bbox: Any = None


class _Document(msgspec.Struct):
    annotations: Any = None


_DOCUMENT = msgspec.json.Decoder(_Document)
_ANNOTATION = msgspec.json.Decoder(_Annotation)
_LIST = msgspec.json.Decoder(list[msgspec.Raw])


def detect_kind(data: bytes) -> tuple[AnnotationKind | None, int | None]:
    """(kind, index of the first annotation with a `bbox`): detection when any annotation has a non-null `bbox`,
    classification when annotations exist and none has one; (None, None) when the file has no annotations or is not
    readable (the validator says why)."""
    try:
        raw = msgspec.json.decode(data.removeprefix(b"\xef\xbb\xbf"), type=dict[str, msgspec.Raw])
        entries = _LIST.decode(raw["annotations"]) if "annotations" in raw else []
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None
    seen = False
    for k, entry in enumerate(entries):
        try:
            annotation = _ANNOTATION.decode(entry)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # not an object: the validator names it
        seen = True
        if annotation.bbox is not None:
            return AnnotationKind.DETECTION, k
    return (AnnotationKind.CLASSIFICATION, None) if seen else (None, None)


def kind_mismatch(data: bytes, expected: AnnotationKind, file: str | None, what: str) -> Problem | None:
    """A problem when the file's annotations are of the other kind than `expected`; `what` names what expects it
    (e.g. "project 'Orchard' is a classification project")."""
    found, first_box = detect_kind(data)
    if found is None or found is expected:
        return None
    if found is AnnotationKind.DETECTION:
        return Problem(
            ProblemCode.WRONG_KIND, f"annotations[{first_box}].bbox",
            f"the annotations carry boxes (`bbox`): this is an object detection COCO file, and {what}; import it "
            "into an object detection project, or remove the boxes to import each image's categories as tags",
            file,
        )
    return Problem(
        ProblemCode.WRONG_KIND, "annotations",
        f"no annotation carries a box (`bbox`): this is a classification COCO file, and {what}; import it into a "
        "classification project, or give each annotation a `bbox` (relative [left, top, width, height])",
        file,
    )
