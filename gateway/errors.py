"""Errors leave the gateway here, once: ``{"error": {"code", "message", "retryable"}}``, or
under ``/v1/`` (the OpenAI-compatible API) OpenAI's ``{"error": {"message", "type", "param",
"code"}}``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from gateway.responses import JSON
from shared.errors import (
    GatewayError,
    InvalidRequest,
    MalformedBody,
    NotFound,
    ServiceUnavailable,
)
from shared.openai_format import error_object, openai_error_body, openai_status

log = logging.getLogger(__name__)

_HTTP_CODES = {404: NotFound.code, 405: "method_not_allowed"}
OPENAI_PREFIX = "/v1/"


def validation_details(exc: Any) -> list[dict[str, Any]]:
    """Where and why each field failed, without echoing the input back."""
    errors: Sequence[Any] = exc.errors()
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def error_response(error: GatewayError, path: str = "") -> JSON:
    """The error's answer; in OpenAI's shape for a ``path`` under ``/v1/``."""
    if is_openai_path(path):
        # x-should-retry: the OpenAI SDKs retry by it before they look at the status.
        headers = {**error.headers, "x-should-retry": "true" if error.retryable else "false"}
        return JSON(openai_error_body(error), status_code=openai_status(error), headers=headers)
    return JSON(
        {"error": error.to_dict()}, status_code=error.http_status, headers=error.headers or None
    )


def is_openai_path(path: str) -> bool:
    return path.startswith(OPENAI_PREFIX)


async def _gateway_error(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, GatewayError)
    if exc.http_status >= 500:
        log.warning("request failed: %s %s", exc.code, exc.message)
    return error_response(exc, request.url.path)


async def _validation_error(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc)
    path = request.url.path
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(MalformedBody("the body is not valid JSON", details=details), path)
    return error_response(InvalidRequest("the request is invalid", details=details), path)


async def _http_error(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if isinstance(exc.__cause__, GatewayError):  # FastAPI wraps errors raised reading the body
        return error_response(exc.__cause__, path)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    if is_openai_path(path):
        body = error_object(str(exc.detail), status=exc.status_code, code=code)
        return JSON(body, status_code=exc.status_code, headers=exc.headers)
    body = {"code": code, "message": str(exc.detail), "retryable": False}
    return JSON({"error": body}, status_code=exc.status_code, headers=exc.headers)


async def _redis_error(request: Request, exc: Exception) -> JSON:
    log.warning("Redis failed during a request", exc_info=exc)
    error = ServiceUnavailable("Redis is not reachable; try again shortly")
    return error_response(error, request.url.path)


async def _unexpected_error(request: Request, exc: Exception) -> JSON:
    log.exception("unhandled error", exc_info=exc)
    return error_response(GatewayError("the gateway failed; this is a bug"), request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RedisError, _redis_error)
    app.add_exception_handler(Exception, _unexpected_error)
