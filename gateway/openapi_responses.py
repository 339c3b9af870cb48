"""Every status and content type a route answers, added to the OpenAPI document: FastAPI lists
only a route's success and 422, but every route may answer the gateway's errors (in its API's
shape), and streams are ``text/event-stream``, not JSON."""

from __future__ import annotations

from typing import Any

NATIVE_ERROR = "GatewayError"
OPENAI_ERROR = "OpenAIError"
ANTHROPIC_ERROR = "AnthropicError"

_ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    NATIVE_ERROR: {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "retryable"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "retryable": {"type": "boolean"},
                    "details": {},
                },
            }
        },
    },
    ANTHROPIC_ERROR: {
        "type": "object",
        "required": ["type", "error"],
        "properties": {
            "type": {"const": "error"},
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {
                    "type": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                    "param": {"type": "string"},
                },
            },
            "request_id": {"type": "string"},
        },
    },
    OPENAI_ERROR: {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
}

# Any route: a malformed body or header, no key or the wrong one, nothing there, a request too
# slow, too large or invalid, a rate limit, and a lost Redis.
_ANY = {
    "400": "malformed body, header or parameter",
    "401": "no API key, or an unknown or revoked one",
    "403": "the key may not do this",
    "404": "not found, or not the caller's",
    "408": "the request did not arrive in time",
    "413": "the body is too large",
    "422": "the request is invalid",
    "429": "a limit of the key is reached",
    "431": "the request's headers are too large or too many",
    "503": "Redis or the broker is not reachable (retryable)",
}
# Routes that start completions: a budget, an id in use, the providers' failures.
_COMPLETING = {
    "402": "the key has spent its budget",
    "409": "a conflict (an id in use, a job that ended)",
    "502": "the providers failed",
    "504": "a provider, or the job's deadline, ran out of time",
}
_JOBS = {"409": "the job has already ended", "410": "the job's events are no longer kept"}
_FILES = {"409": "the file is in use, or the batch has ended"}

# Streams are declared by their routes (gateway.openapi's EVENT_STREAM and the like).
_PLAIN = {("get", "/metrics"): {"text/plain": {"schema": {"type": "string"}}}}
_BYTES = {
    ("get", "/v1/files/{file_id}/content"): {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }
}


def document_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every operation's possible statuses and content types."""
    schema.setdefault("components", {}).setdefault("schemas", {}).update(_ERROR_SCHEMAS)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _complete(path, method, operation["responses"])
    return schema


def _complete(path: str, method: str, responses: dict[str, Any]) -> None:
    error_ref = {"$ref": f"#/components/schemas/{_error_schema(path)}"}
    statuses = dict(_ANY)
    if _completes(path, method):
        statuses |= _COMPLETING
    if path.startswith("/api/v1/jobs"):
        statuses |= _JOBS
    if path.startswith(("/v1/files", "/v1/batches", "/api/v1/batches")):
        statuses |= _FILES
    if path.startswith("/v1/messages"):  # Anthropic's status for "try again later"
        statuses["529"] = "overloaded: Redis, the queue or every provider (retryable)"
    for status, description in statuses.items():
        answer = responses.setdefault(status, {"description": description})
        answer["content"] = {"application/json": {"schema": error_ref}}
    success = next((s for s in responses if s.startswith("2")), None)
    if success is None:
        return
    key = (method, path)
    if key in _PLAIN:
        responses[success]["content"] = _PLAIN[key]
    elif key in _BYTES:
        responses[success]["content"] = _BYTES[key]


COMPLETING_ROUTES = frozenset(
    {
        ("post", "/api/v1/llm/complete"),
        ("post", "/api/v1/llm/complete/stream"),
        ("get", "/api/v1/llm/complete/stream"),
        ("post", "/api/v1/jobs"),
        ("post", "/api/v1/batches"),
        ("post", "/v1/chat/completions"),
        ("post", "/v1/responses"),
        ("post", "/v1/embeddings"),
        ("post", "/v1/messages"),
        ("post", "/v1/batches"),
    }
)


def _completes(path: str, method: str) -> bool:
    return (method, path) in COMPLETING_ROUTES


def _error_schema(path: str) -> str:
    if path.startswith("/v1/messages"):
        return ANTHROPIC_ERROR
    return OPENAI_ERROR if path.startswith("/v1/") else NATIVE_ERROR
