"""Anthropic's Messages API, an app of its own with Anthropic's error shape and body limits:
``/v1/messages``, ``/v1/messages/count_tokens``, and ``/v1/models`` for Anthropic clients.

It shares ``/v1`` with the OpenAI-compatible API, so one app at ``/v1`` (``V1``) hands each
request to its API: ``/v1/messages...`` to this one, ``/v1/models...`` to this one when the
request has ``anthropic-version`` (as every Anthropic SDK and Claude Code send), everything else
to the OpenAI-compatible API. (A Starlette mount at ``/v1/messages`` would not take the path
``/v1/messages`` itself, and Claude Code counts a redirect as a failure.)
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.anthropic import messages, models
from gateway.anthropic.errors import AnthropicErrors
from gateway.errors import install_error_handlers
from gateway.limits import BodySizeLimit
from gateway.observe import NO_FASTAPI_TELEMETRY
from shared.settings import Settings

MESSAGES_PATH = "/messages"
MODELS_PATH = "/models"
VERSION_HEADER = b"anthropic-version"


def create_messages_api(settings: Settings) -> tuple[FastAPI, BodySizeLimit]:
    """The API (for its OpenAPI document) and the ASGI app to mount, its body cap around it."""
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=NO_FASTAPI_TELEMETRY)
    shape = AnthropicErrors()
    install_error_handlers(api, shape)
    api.include_router(messages.router)
    api.include_router(models.router)
    return api, BodySizeLimit(api, max_bytes=settings.max_body_bytes, shape=shape)


class V1:
    """The app at ``/v1``: each request to the API it belongs to."""

    def __init__(self, openai: ASGIApp, anthropic: ASGIApp) -> None:
        self.openai = openai
        self.anthropic = anthropic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.anthropic if _is_anthropic(scope) else self.openai
        await app(scope, receive, send)


def _is_anthropic(scope: Scope) -> bool:
    if scope["type"] != "http":
        return False
    path: str = scope["path"][len(scope.get("root_path", "")) :]
    if _under(path, MESSAGES_PATH):
        return True
    return _under(path, MODELS_PATH) and any(name == VERSION_HEADER for name, _ in scope["headers"])


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")
