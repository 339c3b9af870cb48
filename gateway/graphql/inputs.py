"""GraphQL input → the one ChatRequest every front end builds, plus what only GraphQL carries.

Ariadne hands resolvers the inputs with snake_case keys (``convert_names_case``); pydantic then
validates the request exactly as REST does, and its complaints become INVALID_REQUEST with the
GraphQL names of the fields in ``details``, never a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gateway.errors import validation_details
from shared.chat import ChatRequest, front_end_fields
from shared.errors import InvalidRequest

STREAM_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# ChatRequest field -> its CompletionOptionsInput name (resolvers get it in snake_case).
OPTIONS = front_end_fields("graphql")
# Input objects arrive with their unset fields as nulls, which ChatRequest would refuse.
NESTED_INPUTS = ("cache",)


@dataclass(frozen=True, slots=True)
class CompletionInput:
    """One completion as asked for over GraphQL."""

    chat: ChatRequest
    stream_id: str | None = None


def completion_input(
    messages: list[dict[str, Any]], options: dict[str, Any] | None
) -> CompletionInput:
    """Validate ``messages`` and ``options``; raises InvalidRequest."""
    options = options or {}
    body: dict[str, Any] = {"messages": [_without_nulls(message) for message in messages]}
    for field, name in OPTIONS.items():
        value = options.get(_snake(name))
        if value is not None:
            body[field] = _without_nulls(value) if field in NESTED_INPUTS else value
    try:
        chat = ChatRequest.model_validate(body)
    except ValidationError as exc:
        details = [{**d, "loc": graphql_loc(d["loc"])} for d in validation_details(exc)]
        raise InvalidRequest("invalid request", details=details) from exc
    return CompletionInput(chat=chat, stream_id=stream_id(options.get("stream_id")))


def stream_id(value: str | None) -> str | None:
    if value is not None and not STREAM_ID.fullmatch(value):
        raise InvalidRequest(
            "streamId must be 8 to 64 characters of A-Z a-z 0-9 _ -",
            details=[{"loc": ["options", "streamId"], "msg": "invalid stream id"}],
        )
    return value


def graphql_loc(loc: list[Any]) -> list[Any]:
    """A ChatRequest field path as the GraphQL input names it."""
    if not loc:
        return ["options"]
    head, *rest = loc
    if head == "messages":
        return ["messages", *[_camel(p) if isinstance(p, str) else p for p in rest]]
    named = [_camel(p) if isinstance(p, str) else p for p in rest]
    return ["options", OPTIONS.get(str(head), _camel(str(head))), *named]


def _camel(name: str) -> str:
    first, *others = name.split("_")
    return first + "".join(part.title() for part in others)


def _snake(name: str) -> str:
    """``fallbackModels`` -> ``fallback_models``, as Ariadne hands resolvers their inputs."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _without_nulls(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
