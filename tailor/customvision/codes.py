"""The Custom Vision vocabulary: its error codes, statuses and kinds as Enums, and the domains Tailor offers.

Values are the wire strings of the official SDK (azure-cognitiveservices-vision-customvision 3.1,
`training/models/_custom_vision_training_client_enums.py`), so that `str(enum.value)` is what a client compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..coco import AnnotationKind


class ErrorCode(str, Enum):
    """`code` of a Custom Vision error body; the HTTP status follows from the family (see `status`)."""

    BAD_REQUEST = "BadRequest"
    EXCEEDED_BATCH_SIZE = "BadRequestExceededBatchSize"
    INVALID_IDS = "BadRequestInvalidIds"
    PROJECT_NAME = "BadRequestProjectName"
    PROJECT_DESCRIPTION = "BadRequestProjectDescription"
    PROJECT_UNKNOWN_DOMAIN = "BadRequestProjectUnknownDomain"
    PROJECT_UNKNOWN_CLASSIFICATION = "BadRequestProjectUnknownClassification"
    PROJECT_UNSUPPORTED_DOMAIN_TYPE_CHANGE = "BadRequestProjectUnsupportedDomainTypeChange"
    PROJECT_UNSUPPORTED_EXPORT_PLATFORM = "BadRequestProjectUnsupportedExportPlatform"
    ITERATION_NAME = "BadRequestIterationName"
    ITERATION_IS_NOT_TRAINED = "BadRequestIterationIsNotTrained"
    ITERATION_IS_PUBLISHED = "BadRequestIterationIsPublished"
    ITERATION_NOT_PUBLISHED = "BadRequestIterationNotPublished"
    INVALID_PUBLISH_NAME = "BadRequestInvalidPublishName"
    TAG_NAME = "BadRequestTagName"
    TAG_NAME_NOT_UNIQUE = "BadRequestTagNameNotUnique"
    TAG_DESCRIPTION = "BadRequestTagDescription"
    TAG_TYPE = "BadRequestTagType"
    IMAGE_TAGS = "BadRequestImageTags"
    IMAGE_REGIONS = "BadRequestImageRegions"
    REQUIRED_PARAM_IS_NULL = "BadRequestRequiredParamIsNull"
    EXCEED_TAG_PER_PROJECT_LIMIT = "BadRequestExceedTagPerProjectLimit"
    EXCEED_TAG_PER_IMAGE_LIMIT = "BadRequestExceedTagPerImageLimit"
    IMAGE_BATCH = "BadRequestImageBatch"
    IMAGE_STREAM = "BadRequestImageStream"
    IMAGE_URL = "BadRequestImageUrl"
    IMAGE_FORMAT = "BadRequestImageFormat"
    IMAGE_SIZE_BYTES = "BadRequestImageSizeBytes"
    IMAGE_DIMENSIONS = "BadRequestImageDimensions"
    EXPORT_VALIDATION_FAILED = "BadRequestExportValidationFailed"
    EXPORT_WHILE_TRAINING = "BadRequestExportWhileTraining"
    TRAINING_NOT_NEEDED = "BadRequestTrainingNotNeeded"
    TRAINING_VALIDATION_FAILED = "BadRequestTrainingValidationFailed"
    CLASSIFICATION_TRAINING_VALIDATION_FAILED = "BadRequestClassificationTrainingValidationFailed"
    DETECTION_TRAINING_VALIDATION_FAILED = "BadRequestDetectionTrainingValidationFailed"
    TRAINING_ALREADY_IN_PROGRESS = "BadRequestTrainingAlreadyInProgress"
    RESERVED_BUDGET_NOT_ENOUGH = "BadRequestReservedBudgetInHoursNotEnoughForAdvancedTraining"
    OPERATION_NOT_SUPPORTED = "BadRequestOperationNotSupported"
    INVALID = "BadRequestInvalid"
    INVALID_COCO = "BadRequestInvalidCoco"  # ours: a COCO import with problems (the body lists them)
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    UNAUTHORIZED = "Unauthorized"
    NOT_FOUND = "NotFound"
    NOT_FOUND_PROJECT = "NotFoundProject"
    NOT_FOUND_PROJECT_DEFAULT_ITERATION = "NotFoundProjectDefaultIteration"
    NOT_FOUND_ITERATION = "NotFoundIteration"
    NOT_FOUND_ITERATION_PERFORMANCE = "NotFoundIterationPerformance"
    NOT_FOUND_TAG = "NotFoundTag"
    NOT_FOUND_IMAGE = "NotFoundImage"
    NOT_FOUND_DOMAIN = "NotFoundDomain"
    CONFLICT = "Conflict"
    ERROR_UNKNOWN = "ErrorUnknown"

    @property
    def status(self) -> int:
        if self is ErrorCode.UNAUTHORIZED:
            return 401
        if self is ErrorCode.UNSUPPORTED_MEDIA_TYPE:
            return 415
        if self.value.startswith("NotFound"):
            return 404
        if self is ErrorCode.CONFLICT:
            return 409
        if self is ErrorCode.ERROR_UNKNOWN:
            return 500
        return 400


class ImageCreateStatus(str, Enum):
    OK = "OK"
    OK_DUPLICATE = "OKDuplicate"
    ERROR_SOURCE = "ErrorSource"
    ERROR_IMAGE_FORMAT = "ErrorImageFormat"
    ERROR_IMAGE_SIZE = "ErrorImageSize"
    ERROR_STORAGE = "ErrorStorage"
    ERROR_LIMIT_EXCEED = "ErrorLimitExceed"
    ERROR_TAG_LIMIT_EXCEED = "ErrorTagLimitExceed"
    ERROR_REGION_LIMIT_EXCEED = "ErrorRegionLimitExceed"
    ERROR_UNKNOWN = "ErrorUnknown"
    ERROR_IMAGE_DIMENSIONS = "ErrorImageDimensions"
    ERROR_INVALID_TAG = "ErrorInvalidTag"

    @property
    def stored(self) -> bool:
        return self in (ImageCreateStatus.OK, ImageCreateStatus.OK_DUPLICATE)


class DomainType(str, Enum):
    CLASSIFICATION = "Classification"
    OBJECT_DETECTION = "ObjectDetection"

    @property
    def annotation_kind(self) -> AnnotationKind:
        return AnnotationKind.DETECTION if self is DomainType.OBJECT_DETECTION else AnnotationKind.CLASSIFICATION


class ClassificationType(str, Enum):
    MULTICLASS = "Multiclass"
    MULTILABEL = "Multilabel"


class TagType(str, Enum):
    REGULAR = "Regular"
    NEGATIVE = "Negative"
    GENERAL_PRODUCT = "GeneralProduct"


class TrainingType(str, Enum):
    REGULAR = "Regular"
    ADVANCED = "Advanced"


class IterationStatus(str, Enum):
    """What the SDK's users poll for ("Completed"); derived from the training model's status."""

    TRAINING = "Training"
    COMPLETED = "Completed"
    FAILED = "Failed"


class ExportStatus(str, Enum):
    EXPORTING = "Exporting"
    FAILED = "Failed"
    DONE = "Done"


class OrderBy(str, Enum):
    NEWEST = "Newest"
    OLDEST = "Oldest"


class TaggingStatus(str, Enum):
    ALL = "All"
    TAGGED = "Tagged"
    UNTAGGED = "Untagged"


class ExportPlatform(str, Enum):
    CORE_ML = "CoreML"
    TENSOR_FLOW = "TensorFlow"
    DOCKER_FILE = "DockerFile"
    ONNX = "ONNX"
    VAIDK = "VAIDK"
    OPEN_VINO = "OpenVino"


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    type: DomainType
    exportable: bool
    description: str
    size_mb: int


# Azure's ids, so that code that picks a domain by id or by (type, name) finds it. Every domain trains Tailor's
# AutoML; "compact" only marks those Azure let users export.
DOMAINS: tuple[Domain, ...] = (
    Domain("ee85a74c-405e-4adc-bb47-ffa8ca0c9f31", "General", DomainType.CLASSIFICATION, False,
           "A broad range of images: Tailor's AutoML picks the backbone within the budget.", 0),
    Domain("0732100f-1a38-4e49-a514-c9b44c697ab5", "General (compact)", DomainType.CLASSIFICATION, True,
           "As General, for models to export.", 0),
    Domain("a1db07ca-a19a-4830-bae8-e004a42dc863", "General (compact) [S1]", DomainType.CLASSIFICATION, True,
           "As General, for models to export.", 0),
    Domain("da2e3a8a-40a5-4171-82f4-58522f70fbc1", "General", DomainType.OBJECT_DETECTION, False,
           "Objects in a broad range of images: Tailor's AutoML picks the detector within the budget.", 0),
    Domain("a27d5ca5-bb19-49d8-a70a-fec086c47f5b", "General (compact)", DomainType.OBJECT_DETECTION, True,
           "As General, for detectors to export.", 0),
    Domain("7ec2ac80-887b-48a6-8df9-8b1357765430", "General (compact) [S1]", DomainType.OBJECT_DETECTION, True,
           "As General, for detectors to export.", 0),
)
DEFAULT_DOMAIN = DOMAINS[0]
_BY_ID = {domain.id: domain for domain in DOMAINS}


def find_domain(domain_id: str) -> Domain | None:
    return _BY_ID.get(domain_id.strip().lower())
