"""Domain errors on a Custom Vision path: the request's fault in Custom Vision's code and status; the service's own
failures (storage down, an unreadable secret) a 500, never a 400 that blames the request."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tailor.api import errors
from tailor.errors import BlobError, InvalidInput, NotFound, SecretUnreadable, TailorError
from tailor.models import ModelConflict, ModelNotReady, ModelStatus

CASES = [
    (NotFound("project", "p"), 404, "NotFoundProject"),
    (InvalidInput("bad field"), 400, "BadRequest"),
    (ModelConflict("m", ModelStatus.TRAINING, "deleted"), 409, "Conflict"),
    (ModelNotReady("m", ModelStatus.FAILED), 409, "Conflict"),
    (SecretUnreadable("dataset d", "the key was removed"), 500, "ErrorUnknown"),
    (BlobError("https://account.example/images/1.jpg", "the storage account did not answer"), 500, "ErrorUnknown"),
]


@pytest.mark.parametrize(("error", "status", "code"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_each_domain_error_answers_with_its_custom_vision_code(error: TailorError, status: int, code: str) -> None:
    app = FastAPI()
    errors.install(app)

    @app.get("/customvision/v3.3/training/projects")
    def fail() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/customvision/v3.3/training/projects")
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    message = answer.json()["message"]
    if isinstance(error, BlobError):  # not the request's to fix: an incident to quote, not the storage's words
        assert "quote id" in message and "storage" not in message
    else:
        assert message == str(error)
