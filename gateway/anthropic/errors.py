"""Errors of the Messages API in Anthropic's shape, with the SDK's retry hint and a request id."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from gateway.responses import JSON
from shared.anthropic_format import anthropic_status, error_body, retryable
from shared.anthropic_format.errors import new_id, routing_object
from shared.errors import GatewayError


class AnthropicErrors:
    """``{"type": "error", "error": {"type", "message", "code"}, "request_id"}``."""

    def response(self, error: GatewayError) -> Response:
        status, _ = anthropic_status(error)
        request_id = new_id()
        # x-should-retry: the SDKs (and Claude Code) retry by it before they look at the status.
        headers = {
            **error.headers,
            "request-id": request_id,
            "x-should-retry": "true" if retryable(error) else "false",
        }
        return JSON(error_body(error, request_id), status_code=status, headers=headers)

    def routing_response(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None
    ) -> Response:
        request_id = new_id()
        body = {"type": "error", "error": routing_object(status, code, message)}
        body["request_id"] = request_id
        return JSON(body, status_code=status, headers={**(headers or {}), "request-id": request_id})
