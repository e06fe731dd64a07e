"""Logging: one setup for every Tailor process (`tailor serve`, `tailor worker`, the in-process runner's children),
writing to stderr either JSON lines (TAILOR_LOG_FORMAT=json, the default: one object a line) or plain text.

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger`, `message`, the `request_id` of the API request it was
written for (when there is one), `exception` (the traceback's text, when one was logged) and the fields a caller
passed with `extra=`:

    {"time": "2025-05-01T09:30:12.345+00:00", "level": "INFO", "logger": "tailor.access",
     "message": "GET /computervision/datasets 200 3.1 ms", "request_id": "5f0c...", "status": 200, ...}

    setup_logging(settings.log_format, settings.log_level)    # once, first thing in a process
    request_id.set("5f0c...")                                 # by the API's middleware, for one request
"""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the API request being answered: set by tailor.api.telemetry for each request, read by the formatters.
request_id: ContextVar[str | None] = ContextVar("tailor_request_id", default=None)

# Attributes every LogRecord has: what is not among them came from `extra=` and is written as a field of its own.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of its message with terminal colours
}

# Libraries that say too much at INFO (a line per HTTP request to Azure, per migration step).
_QUIET = ("alembic", "azure", "httpx", "httpcore", "urllib3", "multipart")


class JsonFormatter(logging.Formatter):
    """One JSON object a line; never raises on a field it cannot encode (written as its str())."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger [request id]: message`, then the traceback's lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        current = request_id.get()
        record.request = f" [{current}]" if current is not None else ""
        try:
            return super().format(record)
        finally:
            delattr(record, "request")  # LogRecord's stub lets any attribute be set, but not deleted


def logging_config(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """The `logging.config.dictConfig` of a Tailor process: every logger (uvicorn's and arq's too) goes through
    the root's one handler on stderr, in one format."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    through_root = {"handlers": [], "propagate": True, "level": level}
    return {
        "version": 1,
        "disable_existing_loggers": False,  # loggers made at import time (tailor.*) keep writing
        "formatters": {"tailor": {"()": formatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "tailor", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own handlers are replaced: its lines come out in the same format as Tailor's
            **{name: through_root for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }


def setup_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Configure this process's logging (see `logging_config`); warnings.warn goes to the log as well."""
    logging.config.dictConfig(logging_config(log_format, level))
    logging.captureWarnings(True)
