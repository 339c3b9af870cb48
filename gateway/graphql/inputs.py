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
from shared.embeddings import EmbeddingRequest
from shared.errors import InvalidRequest, error_class_for, most_specific

STREAM_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# ChatRequest field -> its CompletionOptionsInput name (resolvers get it in snake_case).
OPTIONS = front_end_fields("graphql")
# Input objects arrive with their unset fields as nulls, which ChatRequest would refuse.
NESTED_INPUTS = ("cache", "tools")
# Fields of the input objects typed JSON in the SDL.
JSON_FIELDS = frozenset({"parameters", "reasoning_details"})


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
    body: dict[str, Any] = {"messages": [_message(message) for message in messages]}
    for field, name in OPTIONS.items():
        value = options.get(_snake(name))
        if value is not None:
            body[field] = _without_nulls(value) if field in NESTED_INPUTS else value
    try:
        chat = ChatRequest.model_validate(body)
    except ValidationError as exc:
        details = [{**d, "loc": graphql_loc(d["loc"])} for d in validation_details(exc)]
        error = error_class_for(most_specific(details)["type"], InvalidRequest)
        raise error("invalid request", details=details) from exc
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


def _message(message: dict[str, Any]) -> dict[str, Any]:
    """A ChatMessageInput as ChatRequest takes a message: ``parts`` become its content."""
    fields: dict[str, Any] = _without_nulls(message)
    if "parts" in fields:
        fields["content"] = fields.pop("parts")
    elif "content" not in fields and fields.get("tool_calls"):
        fields["content"] = None
    return fields


def _without_nulls(value: Any) -> Any:
    """Input objects hold every field they do not set as null; the JSON scalars inside them
    (``JSON_FIELDS``) are the client's own and stay as they are."""
    if isinstance(value, dict):
        return {
            name: v if name in JSON_FIELDS else _without_nulls(v)
            for name, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def embedding_input(texts: list[str], options: dict[str, Any] | None) -> EmbeddingRequest:
    """Validate an ``embed``'s input and options; raises InvalidRequest."""
    fields: dict[str, Any] = {"input": texts, **_without_nulls(options or {})}
    if "fallback_models" in fields:
        fields["models"] = fields.pop("fallback_models")
    try:
        return EmbeddingRequest.model_validate(fields)
    except ValidationError as exc:
        details = [{**d, "loc": ["options", *map(str, d["loc"])]} for d in validation_details(exc)]
        error = error_class_for(most_specific(details)["type"], InvalidRequest)
        raise error("invalid request", details=details) from exc
