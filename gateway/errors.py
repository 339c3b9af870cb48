"""Errors leave each mounted API here, once, in that API's own shape.

An app is given an ``ErrorShape`` when it is built (``install_error_handlers``): the native API
answers ``{"error": {"code", "message", "retryable", "details"?}}``, the OpenAI-compatible one
OpenAI's shape (``gateway/openai/errors.py``). The shape goes with the mount, not the URL, so
moving a route between APIs is what changes its errors, and nothing else does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from gateway.redis_failures import lost_redis
from gateway.responses import JSON
from shared.errors import (
    GatewayError,
    InvalidRequest,
    MalformedBody,
    NotFound,
    error_class_for,
    most_specific,
)

log = logging.getLogger(__name__)

# FastAPI answers 400 for a body its parser could not read (e.g. nested past its recursion).
_HTTP_CODES = {400: MalformedBody.code, 404: NotFound.code, 405: "method_not_allowed"}


class ErrorShape(Protocol):
    """How one API writes its errors."""

    def response(self, error: GatewayError) -> Response:
        """The answer to a request that failed with ``error``."""
        ...

    def routing_response(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None
    ) -> Response:
        """The answer to a request no route took (404, 405)."""
        ...


class NativeErrors:
    """The gateway's own shape: ``{"error": {"code", "message", "retryable", "details"?}}``."""

    def response(self, error: GatewayError) -> Response:
        return JSON(
            {"error": error.to_dict()}, status_code=error.http_status, headers=error.headers or None
        )

    def routing_response(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None
    ) -> Response:
        body = {"code": code, "message": message, "retryable": False}
        return JSON({"error": body}, status_code=status, headers=headers)


def validation_details(exc: Any) -> list[dict[str, Any]]:
    """Where and why each field failed, without echoing the input back."""
    errors: Sequence[Any] = exc.errors()
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def allowed_methods(app: FastAPI, scope: Scope) -> str:
    """Every method some route of ``app`` serves at the request's path."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI, shape: ErrorShape) -> None:
    """Every error of ``app`` answered in ``shape``: the gateway's errors, invalid requests,
    routing errors, a lost Redis, and anything unexpected (a 500 that names no internals)."""

    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        if exc.http_status >= 500:
            log.warning("request failed: %s %s", exc.code, exc.message)
        return shape.response(exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return shape.response(MalformedBody("the body is not valid JSON", details=details))
        error = error_class_for(most_specific(details)["type"], InvalidRequest)
        return shape.response(error("the request is invalid", details=details))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if isinstance(exc.__cause__, GatewayError):  # FastAPI wraps errors raised reading bodies
            return shape.response(exc.__cause__)
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names the first matching route's methods only
            headers = {**(headers or {}), "Allow": allowed_methods(app, request.scope)}
        return shape.routing_response(exc.status_code, code, str(exc.detail), headers)

    async def redis_failed(request: Request, exc: Exception) -> Response:
        log.warning("Redis failed during a request", exc_info=exc)
        return shape.response(lost_redis())

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return shape.response(GatewayError("the gateway failed; this is a bug"))

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    # Not every OSError: a request's own I/O (a batch file) fails with one too.
    app.add_exception_handler(RedisError, redis_failed)
    app.add_exception_handler(Exception, unexpected)
