"""Errors in Anthropic's shape (wire-tools §5.3): ``{"type": "error", "error": {"type", "message"},
"request_id"}``, with the gateway's stable ``code`` (and the ``param`` at fault, when known) in
``error`` beside them.

Statuses are Anthropic's, and the SDKs and Claude Code retry by them:

* the gateway shedding load, or unable to reach what it needs (``service_unavailable``: Redis or
  the queue), and providers that are down or overloaded (``provider_unavailable``,
  ``all_providers_failed``) are 529 ``overloaded_error``: back off and retry;
* the key's own rate limits are 429 ``rate_limit_error`` with ``retry-after``; a spent budget is
  429 ``billing_error`` with ``x-should-retry: false`` (Claude Code's gateway contract);
* a provider refusing the request is 400 ``invalid_request_error`` with its words (a context
  overflow reads "prompt is too long", which Claude Code compacts on), except a refusal of the
  gateway's own provider credentials (upstream 401/403), a 502 ``api_error``: the client's
  key is not at fault;
* timeouts are 504 ``timeout_error``; the rest by status (401 ``authentication_error``, 403
  ``permission_error``, 404 ``not_found_error``, 409 ``conflict_error``, 413
  ``request_too_large``, 5xx ``api_error``).
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    ContextLengthExceeded,
    DeadlineExceeded,
    GatewayError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServiceUnavailable,
)

OVERLOADED = 529
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    410: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
    OVERLOADED: "overloaded_error",
}
PROMPT_TOO_LONG = "prompt is too long"


def anthropic_status(error: GatewayError) -> tuple[int, str]:
    """The status and ``error.type`` an Anthropic client should see for ``error``."""
    if isinstance(error, ServiceUnavailable | ProviderUnavailable | AllProvidersFailed):
        return OVERLOADED, _TYPES[OVERLOADED]
    if isinstance(error, BudgetExceeded):
        return 429, "billing_error"
    if isinstance(error, ProviderTimeout | DeadlineExceeded):
        return 504, _TYPES[504]
    if isinstance(error, RateLimited):
        return 429, _TYPES[429]
    if isinstance(error, ProviderRejected):
        if _upstream_status(error.details) in (401, 403):
            return 502, "api_error"
        return 400, _TYPES[400]
    status = 400 if error.http_status == 422 else error.http_status
    return status, _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def retryable(error: GatewayError) -> bool:
    """Whether retrying may help (``x-should-retry``)."""
    return error.retryable and not isinstance(error, BudgetExceeded)


def error_message(error: GatewayError) -> str:
    if isinstance(error, ContextLengthExceeded) and PROMPT_TOO_LONG not in error.message.lower():
        return f"{PROMPT_TOO_LONG}: {error.message}"
    return error.message


def error_object(error: GatewayError) -> dict[str, Any]:
    """The ``error`` member: Anthropic's type and message, the gateway's code and param."""
    _, kind = anthropic_status(error)
    body: dict[str, Any] = {"type": kind, "message": error_message(error), "code": error.code}
    param = error.details.get("param") if isinstance(error.details, dict) else None
    if isinstance(param, str) and param:
        body["param"] = param
    return body


def error_body(error: GatewayError, request_id: str | None = None) -> dict[str, Any]:
    """The whole body of an error answer."""
    return {"type": "error", "error": error_object(error), "request_id": request_id or new_id()}


def routing_object(status: int, code: str, message: str) -> dict[str, Any]:
    """The ``error`` member for a request no route took (404, 405)."""
    kind = _TYPES.get(status, "invalid_request_error")
    return {"type": kind, "message": message, "code": code}


def new_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _upstream_status(details: Any) -> int | None:
    """The last attempt's upstream status, wherever the details nest it (an error read back
    from the job's event keeps the original details under ``details``)."""
    while isinstance(details, dict):
        attempts = details.get("attempts")
        if isinstance(attempts, list) and attempts and isinstance(attempts[-1], dict):
            status = attempts[-1].get("upstream_status")
            return status if isinstance(status, int) else None
        details = details.get("details")
    return None
