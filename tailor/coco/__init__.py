"""COCO toolkit: the field reference, the validator, quotas, merging, box conversions and importers.

Pure functions over bytes and parsed data: nothing here opens a network connection or a database. Fetching files
and images is the caller's job (see `tailor.blobs`); `check_images` takes the fetch function as an argument.

May import: tailor.enums (the vocabulary), tailor.errors (its exceptions' base), nothing else of Tailor (pure).
"""

from ._boxes import from_pycocotools, to_absolute, to_pycocotools, to_relative
from ._dataset import CocoDataset
from ._detect import detect_kind, kind_mismatch
from ._images import ImageCheck, check_image_bytes, check_images
from ._importer import import_folder
from ._kinds import AnnotationKind, Purpose
from ._problems import Problem, ProblemCode, Severity
from ._quotas import ALLOWED_IMAGE_FORMATS, MAX_IMAGE_BYTES, Quota, check_quotas, quota_for
from ._reference import CocoAnnotation, CocoCategory, CocoFile, CocoImage
from ._validate import CocoSource, ValidationReport, check_file, validate_coco

__all__ = [
    "ALLOWED_IMAGE_FORMATS",
    "MAX_IMAGE_BYTES",
    "AnnotationKind",
    "CocoAnnotation",
    "CocoCategory",
    "CocoDataset",
    "CocoFile",
    "CocoImage",
    "CocoSource",
    "ImageCheck",
    "Problem",
    "ProblemCode",
    "Purpose",
    "Quota",
    "Severity",
    "ValidationReport",
    "check_file",
    "check_image_bytes",
    "check_images",
    "check_quotas",
    "detect_kind",
    "from_pycocotools",
    "import_folder",
    "kind_mismatch",
    "quota_for",
    "to_absolute",
    "to_pycocotools",
    "to_relative",
    "validate_coco",
]
