"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

``code`` is the gateway's stable error code; ``type`` follows the HTTP status, as OpenAI's does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shared.errors import GatewayError, InvalidRequest

# OpenAI never answers 422: a request it cannot accept is a 400 (the SDK's BadRequestError).
_STATUS_FOR_OPENAI = {422: 400}
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    410: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOCATION_ROOTS = ("body", "query", "header", "path")
# How pydantic names the branch of a union it tried; not a field of the request.
_UNION_BRANCHES = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


class UnsupportedParameter(InvalidRequest):
    """A valid OpenAI parameter this gateway does not carry (``n`` > 1, logprobs...)."""

    code = "unsupported_parameter"
    http_status = 400


class UnknownParameter(InvalidRequest):
    """A request field neither OpenAI nor the gateway defines (most likely a typo)."""

    code = "unknown_parameter"
    http_status = 400


def invalid(message: str, param: str | None, *, details: Any = None) -> InvalidRequest:
    """An InvalidRequest naming the offending field (``param``, OpenAI style)."""
    return InvalidRequest(message, details={"param": param, **_as_dict(details)})


def openai_status(error: GatewayError) -> int:
    """The HTTP status an OpenAI client should see for ``error``."""
    return _STATUS_FOR_OPENAI.get(error.http_status, error.http_status)


def error_type(status: int) -> str:
    """OpenAI's ``type`` for an HTTP status."""
    if status >= 500:
        return "server_error"
    return _TYPES.get(status, "invalid_request_error")


def error_object(
    message: str, *, status: int, code: str, param: str | None = None
) -> dict[str, Any]:
    """The body of an error answered with ``status``."""
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}


def openai_error_body(error: GatewayError) -> dict[str, Any]:
    """``error`` as OpenAI's error body."""
    return error_object(
        error.message, status=openai_status(error), code=error.code, param=param_of(error)
    )


def param_of(error: GatewayError) -> str | None:
    """The field at fault: ``details.param``, or the first location of a validation error."""
    details = error.details
    if isinstance(details, dict):
        param = details.get("param")
        return param if isinstance(param, str) else None
    if isinstance(details, list) and details and isinstance(details[0], dict):
        loc = details[0].get("loc")
        if isinstance(loc, list | tuple):
            return param_from_loc(loc)
    return None


def param_from_loc(loc: Sequence[Any]) -> str | None:
    """``["body", "messages", 0, "content"]`` → ``"messages[0].content"``, without the names
    pydantic gives the branches of a union (``str``, ``list[...]``) or the tag of a tagged
    union (a content part's ``image_url`` before its ``image_url`` field); stops at anything
    else that is not a field name or an index."""
    parts = [p for p in loc if not _is_branch(p)]
    if len(parts) == 2 and parts[0] == "header":
        return str(parts[1])
    if parts and parts[0] in _LOCATION_ROOTS:
        parts = parts[1:]
    path = ""
    for i, part in enumerate(parts):
        if isinstance(part, int) and path:
            path += f"[{part}]"
        elif _is_tag(parts, i):
            continue
        elif isinstance(part, str) and _IDENTIFIER.match(part):
            path += f".{part}" if path else part
        else:
            break
    return path or None


def _is_branch(part: object) -> bool:
    return isinstance(part, str) and (part in _UNION_BRANCHES or "[" in part)


def _is_tag(parts: list[Any], i: int) -> bool:
    """A tagged union's tag: repeated by the field after it, or a content part's type."""
    part = parts[i]
    if not isinstance(part, str) or i == 0:
        return False
    if i + 1 < len(parts) and parts[i + 1] == part:
        return True
    return isinstance(parts[i - 1], int) and i >= 2 and parts[i - 2] == "content"


def _as_dict(details: Any) -> dict[str, Any]:
    if details is None:
        return {}
    return details if isinstance(details, dict) else {"errors": details}
