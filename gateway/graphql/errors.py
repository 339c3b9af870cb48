"""GraphQL errors from the shared error tree: ``extensions.code`` is the error's ``graphql_code``.

Every error a client sees goes through ``format_error``: gateway errors keep their message, code,
``retryable`` and details; a document that does not parse or validate gets GRAPHQL_PARSE_FAILED or
GRAPHQL_VALIDATION_FAILED; Redis trouble is SERVICE_UNAVAILABLE; anything else is INTERNAL_ERROR
with a fixed message (its text may hold internals, so it is logged, not sent).
"""

from __future__ import annotations

import logging
from typing import Any

from ariadne import unwrap_graphql_error
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.responses import JSONResponse

from gateway.redis_failures import translated
from shared.errors import GatewayError, QueryInvalid, QuerySyntaxError

log = logging.getLogger(__name__)

# Ariadne logs every error of every request; this logger keeps only the server's own faults.
ARIADNE_LOGGER = "gateway.graphql.ariadne"

INTERNAL = GatewayError("the gateway failed; this is a bug")


def gateway_error_of(error: GraphQLError) -> GatewayError | None:
    """The error of the tree a GraphQL error stands for; None for a document's own problems."""
    original = unwrap_graphql_error(error)
    if isinstance(original, GatewayError):
        return original
    unavailable = translated(original) if original is not None else None
    if unavailable is not None:
        return unavailable
    if original is not None and not isinstance(original, GraphQLError):
        return INTERNAL
    return None


def extensions_of(error: GatewayError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": error.graphql_code, "retryable": error.retryable}
    if error.details is not None:
        extensions["details"] = error.details
    return extensions


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Ariadne's error formatter: the GraphQL error with ``extensions.code`` set."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    gateway_error = gateway_error_of(error)
    if gateway_error is not None:
        formatted["message"] = gateway_error.message
        extensions.update(extensions_of(gateway_error))
    elif isinstance(error, GraphQLSyntaxError):
        extensions["code"] = QuerySyntaxError.code.upper()
    elif "code" not in extensions:
        extensions["code"] = QueryInvalid.code.upper()
    formatted["extensions"] = extensions
    return formatted


def error_response(error: GatewayError) -> JSONResponse:
    """A GraphQL-shaped answer for a request refused before execution (auth, a bad body)."""
    body = {"errors": [{"message": error.message, "extensions": extensions_of(error)}]}
    return JSONResponse(body, status_code=error.http_status)


class ServerFaultsOnly(logging.Filter):
    """Keeps Ariadne's log records (with their traceback) of the gateway's own faults only.

    A bad document or a refused request is the client's business; an upstream or Redis failure
    is logged as REST logs it, one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, GraphQLError):
            return True
        known = gateway_error_of(error)
        if known is INTERNAL:
            return True
        if known is not None and known.http_status >= 500:
            log.warning("request failed: %s %s", known.code, known.message)
        return False


logging.getLogger(ARIADNE_LOGGER).addFilter(ServerFaultsOnly())
