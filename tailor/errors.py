"""Tailor's errors: every exception Tailor raises on purpose is a TailorError. Third-party errors (httpx, azure, OS,
sqlalchemy) are translated into these at the edge where they happen; the API (tailor.api.errors) and the CLI map
these, and only these, to codes and exit statuses. Where a class lives beside the code that raises it, its module
is named.

    TailorError
    ├── InvalidInput              a request that cannot be carried out as given (400 InvalidRequest)
    │   ├── ImageRejected         (predictions.images) an image analyze cannot take: format, size, dimensions
    │   └── IncorrectModelKind    (evaluations) a classifier measured on boxes, or the reverse
    ├── RecordError               about one named record (dataset, model, ...)
    │   ├── AlreadyExists         409
    │   ├── NotFound              404
    │   └── EtagMismatch          412: If-Match does not match
    ├── ModelNotReady             (models) no trained weights yet: 409
    ├── ModelConflict             (models) the model's state does not allow the call: 409
    ├── EvaluationConflict        (evaluations) the same, for an evaluation: 409
    ├── InvalidAnnotations        (datasets) annotation files unreadable or invalid, every problem listed
    ├── DocumentError             (coco._decode) a file that is not a COCO document at all
    ├── SecretUnreadable          a credential kept in the database that no key of TAILOR_SECRET_KEY opens (500)
    ├── SecretKeyError            (secrets; also a ValueError) TAILOR_SECRET_KEY missing or malformed: no start
    ├── BackboneWeightsError      (automl.backbones._errors) a backbone's weights missing or not what they claim
    ├── TrainingFailed            (automl.failures) a training ended without a model: API.md's failure code
    ├── TrainingCancelled         (automl.failures) a training stopped on request; carries what was billed
    ├── EvaluationFailed          (automl.failures) an evaluation that cannot be carried out: its code
    ├── BudgetExhausted           (automl.budget) inside a trial: the ledger has nothing left
    ├── CustomVisionError         (customvision.errors) Custom Vision's own codes, answered on its face
    │   └── InvalidCoco           (customvision.coco) an imported COCO file's problems
    ├── ApiError                  (api.errors) an answer in the Azure error envelope, status and codes decided
    ├── InternalFailure           Tailor's own machinery failed, not the request: 500 with an incident id
    │   ├── ExportFailed          (automl.export) the exported graph does not answer as the model does
    │   ├── ArtifactError         (automl.artifact) a model folder this version cannot load
    │   ├── TrialProcessDied      (automl.parallel) a trial's process ended in the middle of a trial
    │   └── BatcherStopped        (predictions.batcher) the service is stopping
    └── BlobError                 reading a file or an image failed, or storing one of Tailor's own objects
        ├── BlobNotFound          nothing at that path, URL or key
        ├── BlobAccessDenied      refused by the filesystem or the server
        ├── BlobTooLarge          over the size limit; nothing beyond the limit was read
        ├── BlobUnsupported       a URI Tailor does not read (unknown scheme, a folder, ...), or a key it cannot store
        ├── BlobUnreachable       network failure, timeout, or a server error that persisted
        ├── BlobCorrupt           one of Tailor's own objects does not match the checksum recorded when it was stored
        └── BlobRefused           Tailor's own policy forbids it (a path outside the data roots, a private
                                  address, a redirect downgrading https); nothing was read or connected to

(`blobs._http._TransientFailure` too, a private signal between one attempt and the next; it never leaves there.)
"""

from __future__ import annotations

import uuid


class TailorError(Exception):
    """Base of every error Tailor raises on purpose; the message is meant for the user."""


def new_incident() -> str:
    """The id of an unexpected failure: quoted in the message the user sees and in the log line with its traceback,
    so that one finds the other."""
    return uuid.uuid4().hex[:12]


class InternalFailure(TailorError):
    """Tailor's own machinery failed, not the request: an export that disagrees with its model, a model folder this
    version cannot load, a trial process that died, the service stopping. The API answers it as any unexpected
    error: 500, with an incident id in the message and in the log."""


class BlobError(TailorError):
    def __init__(self, uri: str, reason: str):
        super().__init__(f"{uri}: {reason}")
        self.uri = uri
        self.reason = reason


class BlobNotFound(BlobError):
    pass


class BlobAccessDenied(BlobError):
    pass


class BlobTooLarge(BlobError):
    def __init__(self, uri: str, limit: int, size: int | None = None):
        shown = f"{size:,} bytes" if size is not None else "larger"
        super().__init__(uri, f"{shown}, over the {limit:,}-byte limit")
        self.limit = limit
        self.size = size


class BlobUnsupported(BlobError):
    pass


class BlobUnreachable(BlobError):
    pass


class BlobCorrupt(BlobError):
    """What was read is not what was stored (its size or sha256 differs from its manifest's): never used."""


class BlobRefused(BlobError):
    """Refused before any read: the message names the setting that would allow it, when one would."""


# Records and requests (the API maps each to its code and status).


class RecordError(TailorError):
    def __init__(self, what: str, name: str, message: str):
        super().__init__(message)
        self.what = what  # "dataset", "model", ...
        self.name = name


class AlreadyExists(RecordError):
    def __init__(self, what: str, name: str):
        super().__init__(what, name, f"a {what} named {name!r} already exists")


class NotFound(RecordError):
    def __init__(self, what: str, name: str):
        super().__init__(what, name, f"there is no {what} named {name!r}")


class EtagMismatch(RecordError):
    def __init__(self, what: str, name: str):
        super().__init__(
            what, name, f"the {what} {name!r} has changed since you read it (If-Match does not match its eTag)"
        )


class SecretUnreadable(TailorError):
    """A sealed credential (tailor.secrets) that the configured keys do not open: the key that sealed it was removed
    before `tailor secrets rotate` moved it to another, or the value was altered. The operator's to fix, not the
    caller's, and the message says how."""

    def __init__(self, owner: str, why: str):
        super().__init__(
            f"the credentials kept for {owner} cannot be decrypted ({why}): the service's TAILOR_SECRET_KEY must "
            "include the key they were encrypted with (after the first while rotating; then `tailor secrets rotate`)"
        )
        self.owner = owner


class InvalidInput(TailorError):
    """A request that cannot be carried out as given; `target` names the field at fault."""

    def __init__(self, message: str, target: str | None = None):
        super().__init__(message)
        self.target = target
