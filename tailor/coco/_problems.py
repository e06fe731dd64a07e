"""Problems found in COCO files: a stable code, where it is, and what to do about it."""

from __future__ import annotations

from enum import Enum

import msgspec


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class ProblemCode(str, Enum):
    """Stable codes: clients and tests match on these, never on messages."""

    # The file as a whole.
    FILE_UNREADABLE = "fileUnreadable"
    FILE_TOO_LARGE = "fileTooLarge"
    INVALID_JSON = "invalidJson"
    INVALID_ENCODING = "invalidEncoding"
    NESTING_TOO_DEEP = "nestingTooDeep"
    NOT_AN_OBJECT = "notAnObject"
    WRONG_KIND = "wrongKind"  # boxes for a classifier, or none for a detector
    # Fields of one record.
    MISSING_FIELD = "missingField"
    WRONG_TYPE = "wrongType"
    INVALID_ID = "invalidId"
    DUPLICATE_ID = "duplicateId"
    DUPLICATE_FILE_NAME = "duplicateFileName"
    INVALID_DIMENSION = "invalidDimension"
    INVALID_URL = "invalidUrl"
    EMPTY_NAME = "emptyName"
    NAME_TOO_LONG = "nameTooLong"  # a category name longer than a Custom Vision tag name may be
    UNKNOWN_IMAGE = "unknownImage"
    UNKNOWN_CATEGORY = "unknownCategory"
    INVALID_BBOX = "invalidBbox"
    BBOX_OUT_OF_RANGE = "bboxOutOfRange"
    INVALID_AREA = "invalidArea"
    # Quotas of API.md, which depend on the kind and the purpose.
    TOO_FEW_IMAGES = "tooFewImages"
    TOO_MANY_IMAGES = "tooManyImages"
    TOO_FEW_CATEGORIES = "tooFewCategories"
    TOO_MANY_CATEGORIES = "tooManyCategories"
    TOO_FEW_IMAGES_PER_CATEGORY = "tooFewImagesPerCategory"
    TOO_MANY_REGIONS = "tooManyRegions"
    IMAGE_TOO_SMALL = "imageTooSmall"
    IMAGE_TOO_LARGE = "imageTooLarge"
    # The image files themselves (--check-images).
    IMAGE_UNREADABLE = "imageUnreadable"
    IMAGE_UNDECODABLE = "imageUndecodable"
    IMAGE_FORMAT_NOT_ALLOWED = "imageFormatNotAllowed"
    IMAGE_FILE_TOO_LARGE = "imageFileTooLarge"
    IMAGE_SIZE_MISMATCH = "imageSizeMismatch"
    DECOMPRESSION_BOMB = "decompressionBomb"
    # Warnings: the file is usable, but probably not what was meant.
    DUPLICATE_CATEGORY_NAME = "duplicateCategoryName"
    CATEGORY_WITHOUT_IMAGES = "categoryWithoutImages"
    IMAGE_WITHOUT_ANNOTATIONS = "imageWithoutAnnotations"
    CLASS_IMBALANCE = "classImbalance"

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self in _WARNINGS else Severity.ERROR


_WARNINGS = frozenset(
    {
        ProblemCode.DUPLICATE_CATEGORY_NAME,
        ProblemCode.CATEGORY_WITHOUT_IMAGES,
        ProblemCode.IMAGE_WITHOUT_ANNOTATIONS,
        ProblemCode.CLASS_IMBALANCE,
    }
)


class Problem(msgspec.Struct, frozen=True):
    """One problem. `path` is a JSON path into `file` (`images[12].width`); `$` is the whole file.

    A msgspec Struct rather than a dataclass: a broken million-record file can hold hundreds of thousands."""

    code: ProblemCode
    path: str
    message: str
    file: str | None = None

    @property
    def severity(self) -> Severity:
        return self.code.severity

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "path": self.path, "message": self.message, "file": self.file}
