"""One OpenAPI document for the whole gateway: the native API's, with each mounted API's paths
under its mount prefix (so ``/docs`` shows every route), its ways to send a key, and streaming
routes described as ``text/event-stream``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.openapi_responses import document_responses

# How a caller proves who it is; every route takes a key unless it says otherwise.
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key: `Authorization: Bearer <key>`",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "streamToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "a stream token (POST /api/v1/stream-tokens): event routes only",
    },
}
KEYED: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
STREAM_SECURITY: list[dict[str, list[str]]] = [*KEYED, {"streamToken": []}]
KEYLESS: list[dict[str, list[str]]] = []

EVENT_STREAM: dict[str, Any] = {
    "description": "Server-Sent Events: `id:` the seq, `event:` the type, `data:` the event",
    "content": {
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'retry: 2000\nid: 1\nevent: start\ndata: {"seq":1,"type":"start",'
            '"provider":"demo","model":"demo-1"}\n\nid: 2\nevent: delta\ndata: {"seq":2,'
            '"type":"delta","content":"Hello"}\n\n',
        }
    },
}

# OpenAI's chat route answers JSON, or with `"stream": true` these chunks.
OPENAI_STREAM: dict[str, Any] = {
    "description": "a `chat.completion`; with `stream: true`, `chat.completion.chunk` events",
    "content": {
        "application/json": {},
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'data: {"object":"chat.completion.chunk","choices":[{"index":0,'
            '"delta":{"content":"Hello"}}]}\n\ndata: [DONE]\n\n',
        },
    },
}

# The Messages API answers a `message`, or with `"stream": true` Anthropic's events.
MESSAGES_STREAM: dict[str, Any] = {
    "description": "a `message`; with `stream: true`, `message_start` ... `message_stop` events",
    "content": {
        "application/json": {},
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'event: content_block_delta\ndata: {"type":"content_block_delta",'
            '"index":0,"delta":{"type":"text_delta","text":"Hello"}}\n\n',
        },
    },
}

# The Responses API answers a `response`, or with `"stream": true` its typed events.
RESPONSES_STREAM: dict[str, Any] = {
    "description": "a `response`; with `stream: true`, `response.*` events",
    "content": {
        "application/json": {},
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'event: response.output_text.delta\ndata: {"type":'
            '"response.output_text.delta","delta":"Hello"}\n\n',
        },
    },
}


def combined_openapi(
    main: FastAPI, mounted: Sequence[tuple[str, FastAPI]]
) -> Callable[[], dict[str, Any]]:
    """``main.openapi``, replaced: ``main``'s document plus each mounted API's under its prefix
    (two APIs may share one, as the OpenAI-compatible and Messages APIs share ``/v1``), built
    once."""

    def openapi() -> dict[str, Any]:
        if main.openapi_schema is None:
            schema = _document(main, "")
            for prefix, api in mounted:
                part = _document(api, prefix)
                schema["paths"].update(part["paths"])
                components = schema.setdefault("components", {})
                for kind, items in part.get("components", {}).items():
                    components.setdefault(kind, {}).update(items)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            schema["security"] = KEYED
            main.openapi_schema = document_responses(schema)
        return main.openapi_schema

    return openapi


def _document(api: FastAPI, prefix: str) -> dict[str, Any]:
    schema = get_openapi(
        title=api.title,
        version=api.version,
        summary=api.summary,
        description=api.description,
        routes=api.routes,
    )
    schema["paths"] = {prefix + path: item for path, item in schema.get("paths", {}).items()}
    return schema
