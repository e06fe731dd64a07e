"""How a training or an evaluation ends other than with a result. Codes are those of API.md (tailor.enums.FailureCode,
tailor.enums.EvaluationFailureCode)."""

from __future__ import annotations

from ..enums import EvaluationFailureCode, FailureCode
from ..errors import TailorError


class TrainingFailed(TailorError):
    def __init__(self, code: FailureCode, message: str, billed_seconds: float = 0.0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.billed_seconds = billed_seconds

    def __reduce__(self):  # picklable, for trials that run in another process (automl.parallel)
        return type(self), (self.code, self.message, self.billed_seconds)


class TrainingCancelled(TailorError):
    def __init__(self, billed_seconds: float = 0.0):
        super().__init__("cancelled")
        self.billed_seconds = billed_seconds

    def __reduce__(self):
        return type(self), (self.billed_seconds,)


class EvaluationFailed(TailorError):
    """An evaluation that cannot be carried out; `code` is one of API.md's evaluation failure codes."""

    def __init__(self, code: EvaluationFailureCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
