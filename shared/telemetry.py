"""What the gateway and the workers share about telemetry: metric naming, the request context
carried from an HTTP request into the Celery message headers, and its log fields."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass, field

PREFIX = "llm_gateway"
# Seconds: from a cache hit (about a millisecond) to a long reasoning answer.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
# Seconds: work the gateway or the queue adds, normally milliseconds.
QUICK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

REQUEST_ID_HEADER = "X-Request-ID"
# Celery message headers the gateway adds to every job's task (read back by the worker).
HEADER_REQUEST_ID = "llm_request_id"
HEADER_ENQUEUED_AT = "llm_enqueued_at"
TRACE_HEADERS = ("traceparent", "tracestate")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is a sane token (it lands in logs and headers), else a
    new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The request a line of work belongs to: its id and, when tracing, its trace headers."""

    request_id: str
    received_at: float | None = None  # monotonic; None where no HTTP request started it
    trace: dict[str, str] = field(default_factory=dict)
    job_id: str | None = None


# The context of the request (gateway) or job (worker) the running task serves. A context
# variable, not shared state: each asyncio task and thread sees its own.
CURRENT: ContextVar[RequestContext | None] = ContextVar("llm_gateway_request", default=None)
