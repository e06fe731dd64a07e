"""The COCO field reference of API.md, as types.

`CocoFile` and its records are what a valid file holds; Tailor writes files with them (the importer, conversions,
tests, benchmarks). Reading is lenient on purpose: `raw_record_type` derives from each record type a twin whose
fields accept any JSON value, so that a file with a wrong type in one field still decodes and every problem in it
can be reported, not only the first.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET


class CocoImage(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int  # positive, unique in `images`; need not be contiguous
    width: int  # pixels
    height: int  # pixels
    file_name: str  # unique in `images`
    absolute_url: str | None = None  # absolute URI of the image blob; or a reference relative to the file (ours)
    coco_url: str | None = None  # the same, under COCO's own name; one of the two is required


class CocoAnnotation(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int
    image_id: int
    category_id: int
    # Relative [left, top, width, height] in 0..1; required for detection.
    bbox: tuple[float, float, float, float] | None = None
    area: float | None = None


class CocoCategory(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int
    name: str
    supercategory: str | None = None


class CocoFile(msgspec.Struct, kw_only=True, omit_defaults=True):
    images: list[CocoImage]
    annotations: list[CocoAnnotation]
    categories: list[CocoCategory]


SECTIONS: dict[str, type[msgspec.Struct]] = {
    "images": CocoImage,
    "annotations": CocoAnnotation,
    "categories": CocoCategory,
}


def raw_record_type(record: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """A twin of `record` whose fields take any value and default to UNSET (missing); extra keys are ignored."""
    return msgspec.defstruct(
        f"Raw{record.__name__.removeprefix('Coco')}",
        [(name, Any, UNSET) for name in record.__struct_fields__],
        gc=False,  # records hold no cycles; skipping the GC saves memory and time on million-record files
    )


RawImage = raw_record_type(CocoImage)
RawAnnotation = raw_record_type(CocoAnnotation)
RawCategory = raw_record_type(CocoCategory)
RAW_SECTIONS: dict[str, type[msgspec.Struct]] = {
    "images": RawImage,
    "annotations": RawAnnotation,
    "categories": RawCategory,
}
