"""How a training ends other than with a model. Codes are those of API.md (tailor.models.FailureCode)."""

from __future__ import annotations

from ..models import FailureCode


class TrainingFailed(Exception):
    def __init__(self, code: FailureCode, message: str, billed_seconds: float = 0.0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.billed_seconds = billed_seconds


class TrainingCancelled(Exception):
    def __init__(self, billed_seconds: float = 0.0):
        super().__init__("cancelled")
        self.billed_seconds = billed_seconds
