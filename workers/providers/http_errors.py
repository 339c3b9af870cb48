"""Translation of an upstream HTTP failure into the error tree: done once, here."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import orjson

from shared.errors import (
    ContextLengthExceeded,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRejected,
    ProviderUnavailable,
)

RETRYABLE_STATUSES = frozenset({408, 409, 429})
# Wording providers use for a prompt that does not fit (provider-wire.md section 6.11).
CONTEXT_LENGTH_MARKERS = ("maximum context length", "prompt is too long", "exceed context limit")
MAX_RETRY_AFTER_S = 60.0


def retry_after_s(headers: httpx.Headers) -> float | None:
    """The wait the provider asked for: ``retry-after-ms``, then ``retry-after`` as seconds or an
    HTTP date; ignored unless within (0, 60] s, as the official SDKs do."""
    wait: float | None = None
    if "retry-after-ms" in headers:
        try:
            wait = float(headers["retry-after-ms"]) / 1000
        except ValueError:
            wait = None
    if wait is None and "retry-after" in headers:
        value = headers["retry-after"]
        try:
            wait = float(value)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                wait = email.utils.mktime_tz(parsed) - time.time()
    if wait is None or not 0 < wait <= MAX_RETRY_AFTER_S:
        return None
    return wait


def error_message(body: Any) -> str:
    """The human message inside any provider's error body shape."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return "the provider gave no error message"


def _error_code(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


def is_context_length_error(body: Any) -> bool:
    message = error_message(body).lower()
    return _error_code(body) == "context_length_exceeded" or any(
        marker in message for marker in CONTEXT_LENGTH_MARKERS
    )


def from_status(provider: str, response: httpx.Response, raw_body: bytes) -> ProviderError:
    """The error for a non-2xx answer; its class says whether another attempt may help."""
    try:
        body: Any = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        body = raw_body[:200].decode("utf-8", "replace")
    status = response.status_code
    message = f"{provider} answered {status}: {error_message(body)}"
    should_retry = response.headers.get("x-should-retry")
    retryable = (
        should_retry == "true"
        if should_retry in ("true", "false")
        else status in RETRYABLE_STATUSES or status >= 500
    )
    kwargs: dict[str, Any] = {
        "provider": provider,
        "upstream_status": status,
        "retry_after_s": retry_after_s(response.headers),
    }
    if status == 402 or _error_code(body) == "insufficient_quota":
        return ProviderQuotaExhausted(message, **kwargs)
    if retryable:
        return ProviderUnavailable(message, **kwargs)
    if status == 400 and is_context_length_error(body):
        return ContextLengthExceeded(message, **kwargs)
    return ProviderRejected(message, **kwargs)
