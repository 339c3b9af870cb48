"""Translation of an upstream HTTP failure into the error tree: done once, here."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

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
QUOTA_KINDS = frozenset({"insufficient_quota", "billing_error"})
QUOTA_MARKERS = ("credit balance is too low",)
# Anthropic error types that say the request itself is wrong (provider-wire.md 5.4).
REJECTED_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
    }
)


# Credentials a provider's error text may echo (OpenAI's "Incorrect API key provided: sk-..."),
# by their shape: a bearer token, the usual key prefixes (sk-, sk-ant-, sk-or-, rk-, our lgw-,
# AWS, GitHub, Slack), and any long run of key characters.
KEY_SHAPES = re.compile(
    r"(?i:bearer)\s+\S+"
    r"|\b(?:sk|rk|pk|lgw)-[A-Za-z0-9_\-*.]{6,}"
    r"|\bAKIA[0-9A-Z]{12,}"
    r"|\b(?:ghp|gho|ghs|github_pat|xox[abprs])[-_][A-Za-z0-9_\-]{10,}"
    r"|[A-Za-z0-9_\-]{32,}"
)
REDACTED = "[redacted]"
# Request headers that carry the key the gateway sent.
KEY_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets nor anything shaped like a key."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPES.sub(REDACTED, text)


def sent_secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials among the request ``headers`` the gateway sends (bearer tokens also
    without their scheme)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    secrets = []
    for name in KEY_HEADERS:
        value = lowered.get(name)
        if value:
            scheme, _, token = value.partition(" ")
            secrets += [value, token] if scheme.lower() == "bearer" and token else [value]
    return secrets


def retry_after_s(headers: Mapping[str, str]) -> float | None:
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


def error_message(body: Any, secrets: Iterable[str] = ()) -> str:
    """The human message inside any provider's error body shape, scrubbed of ``secrets`` and
    of anything shaped like a key before it reaches an event, a log line or a response."""
    return scrub(_raw_message(body), secrets)


def _raw_message(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return "the provider gave no error message"


def _inner(body: Any) -> dict[str, Any]:
    """The error object: OpenAI/OpenRouter/Anthropic nest it under ``error``, old vLLM does not."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def _error_kinds(body: Any) -> set[str]:
    """Every machine-readable name the body gives its error: code, type, metadata.error_type."""
    inner = _inner(body)
    metadata = inner.get("metadata")
    kinds = {inner.get("code"), inner.get("type")}
    if isinstance(metadata, dict):
        kinds.add(metadata.get("error_type"))
    return {str(kind) for kind in kinds if kind}


def is_context_length_error(body: Any) -> bool:
    message = _raw_message(body).lower()
    return "context_length_exceeded" in _error_kinds(body) or any(
        marker in message for marker in CONTEXT_LENGTH_MARKERS
    )


def is_quota_error(body: Any) -> bool:
    """The account cannot pay: OpenAI's insufficient_quota, Anthropic's billing_error or the
    400 "credit balance is too low" older Anthropic traffic carries (provider-wire.md 5.4)."""
    return bool(_error_kinds(body) & QUOTA_KINDS) or any(
        marker in _raw_message(body).lower() for marker in QUOTA_MARKERS
    )


def from_error_event(provider: str, body: Any) -> ProviderError:
    """An error reported inside a 200 stream, classified by its Anthropic-style ``type``: the
    request's own fault is not retried; overload, server and rate errors are."""
    message = f"{provider} reported an error mid-stream: {error_message(body)}"
    kind = str(_inner(body).get("type") or "")
    if is_quota_error(body):
        return ProviderQuotaExhausted(message, provider=provider)
    if kind in REJECTED_TYPES:
        if is_context_length_error(body):
            return ContextLengthExceeded(message, provider=provider)
        return ProviderRejected(message, provider=provider)
    return ProviderUnavailable(message, provider=provider)


def from_status(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    raw_body: bytes,
    secrets: Iterable[str] = (),
) -> ProviderError:
    """The error for a non-2xx answer (header names in any case), its message scrubbed of the
    ``secrets`` sent; its class says whether another attempt may help."""
    try:
        body: Any = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        body = raw_body[:200].decode("utf-8", "replace")
    message = f"{provider} answered {status}: {error_message(body, secrets)}"
    should_retry = headers.get("x-should-retry")
    retryable = (
        should_retry == "true"
        if should_retry in ("true", "false")
        else status in RETRYABLE_STATUSES or status >= 500
    )
    kwargs: dict[str, Any] = {
        "provider": provider,
        "upstream_status": status,
        "retry_after_s": retry_after_s(headers),
    }
    if status == 402 or is_quota_error(body):
        return ProviderQuotaExhausted(message, **kwargs)
    if retryable:
        return ProviderUnavailable(message, **kwargs)
    if status == 400 and is_context_length_error(body):
        return ContextLengthExceeded(message, **kwargs)
    return ProviderRejected(message, **kwargs)
