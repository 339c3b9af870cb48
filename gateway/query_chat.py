"""A chat request from a query string (the native GET stream, for EventSource clients).

The query takes ``prompt`` or ``messages`` (a JSON array), an optional ``system``, and every
ChatRequest field declared for the query (``shared.chat.FrontEnds``), a list field repeated.
Query values are text, so they are validated in lax mode (``0.2`` may arrive as a string).
"""

from __future__ import annotations

import types
import typing
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from gateway.errors import validation_details
from shared.chat import ChatRequest, front_end_fields
from shared.errors import InvalidRequest, error_class_for, most_specific

QUERY_FIELDS = tuple(front_end_fields("query"))


def chat_from_query(query: QueryParams) -> ChatRequest:
    """Build the request: ``prompt`` or ``messages``, not both. Raises InvalidRequest."""
    prompt, messages, system = (query.get(name) for name in ("prompt", "messages", "system"))
    if (prompt is None) == (messages is None):
        raise InvalidRequest("give exactly one of `prompt` or `messages`")
    if messages is not None:
        try:
            conversation = orjson.loads(messages)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest("`messages` must be a JSON array of messages") from exc
    else:
        conversation = [{"role": "user", "content": prompt}]
    if system is not None and isinstance(conversation, list):
        conversation = [{"role": "system", "content": system}, *conversation]
    body: dict[str, Any] = {"messages": conversation}
    for name in QUERY_FIELDS:
        values = query.getlist(name)
        if values:
            body[name] = values if _takes_a_list(name) else values[-1]
    try:
        return ChatRequest.model_validate(body, strict=False)
    except ValidationError as exc:
        details = [{**d, "loc": ["query", *d["loc"]]} for d in validation_details(exc)]
        error = error_class_for(most_specific(details)["type"], InvalidRequest)
        raise error("invalid request", details=details) from exc


def query_parameters() -> list[dict[str, Any]]:
    """The query's parameters as OpenAPI describes them (the route reads them itself)."""
    described = [
        _parameter("prompt", {"type": "string"}, "a single user message"),
        _parameter("messages", {"type": "string"}, "the messages as a JSON array"),
        _parameter("system", {"type": "string"}, "a system message put first"),
    ]
    properties = ChatRequest.model_json_schema()["properties"]
    for name in QUERY_FIELDS:
        schema = properties[name]
        if _takes_a_list(name):
            schema = {"type": "array", "items": {"type": "string"}}
        described.append(_parameter(name, schema, ChatRequest.model_fields[name].description))
    return described


def _parameter(name: str, schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _takes_a_list(name: str) -> bool:
    """Whether the field accepts a list (then its query parameter may repeat)."""
    annotation = ChatRequest.model_fields[name].annotation
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    arms = typing.get_args(annotation) if union else (annotation,)
    return any(typing.get_origin(arm) is list for arm in arms)
