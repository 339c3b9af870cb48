"""Errors of the OpenAI-compatible API in OpenAI's shape, with the SDK's retry hint."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from gateway.responses import JSON
from shared.errors import GatewayError
from shared.openai_format import error_object, openai_error_body, openai_status


class OpenAIErrors:
    """``{"error": {"message", "type", "param", "code"}}``, 422 answered as 400."""

    def response(self, error: GatewayError) -> Response:
        # x-should-retry: the OpenAI SDKs retry by it before they look at the status.
        headers = {**error.headers, "x-should-retry": "true" if error.retryable else "false"}
        return JSON(openai_error_body(error), status_code=openai_status(error), headers=headers)

    def routing_response(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None
    ) -> Response:
        body = error_object(message, status=status, code=code)
        return JSON(body, status_code=status, headers=headers)
