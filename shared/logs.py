"""Logging for every process: one JSON object a line in production, readable lines on a
terminal, each carrying the request id (and job id) of the work it belongs to.

What goes in a line is chosen by the code that logs it: prompts, API keys and provider keys are
never logged (``log_prompts`` is the one, explicit, exception for debugging).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal, TextIO

import orjson

from shared.telemetry import CURRENT

LogFormat = Literal["auto", "json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``job_id`` from the running request or job (unless the call
    passed its own), and the component's name."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        context = CURRENT.get()
        if context is not None:
            if getattr(record, "request_id", None) is None:
                record.request_id = context.request_id
            if getattr(record, "job_id", None) is None and context.job_id is not None:
                record.job_id = context.job_id
        if getattr(record, "job_id", None) is None:
            data = getattr(record, "data", None)  # Celery's task log lines carry the task id
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                record.job_id = data["id"]
        record.component = self.component
        parts = [
            f"{name}={value}"
            for name in ("request_id", "job_id")
            if (value := getattr(record, name, None)) is not None
        ]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, component, ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "component": getattr(record, "component", None),
        }
        for name in ("request_id", "job_id"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(
    level: str, log_format: LogFormat, component: str, stream: TextIO | None = None
) -> None:
    """Set up the root logger once, at start (``component``: gateway, worker...)."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    chosen = log_format
    if chosen == "auto":
        chosen = "text" if stream.isatty() else "json"
    handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter(component))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
