"""The one error the Custom Vision face raises: a code of its own vocabulary and a message that says what to do.
The API shows it as Custom Vision's top-level `{"code", "message"}` with the code's HTTP status."""

from __future__ import annotations

from ..errors import TailorError
from .codes import ErrorCode


class CustomVisionError(TailorError):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

