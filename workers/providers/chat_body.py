"""The gateway's request as a Chat Completions body, for the OpenAI-compatible family.

The internal form is OpenAI's own, so this mostly drops what an upstream does not take:
``cache_control`` marks (kept only where the upstream honours them, OpenRouter), and the
assistant's reasoning, which each dialect echoes under its own name (DeepSeek's
``reasoning_content``, OpenRouter's ``reasoning_details``), or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.chat import ChatMessage, ChatRequest

_TOOL_FIELDS = ("tools", "tool_choice", "parallel_tool_calls", "response_format")


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one upstream takes beyond OpenAI's shapes."""

    cache_marks: bool = False  # keeps cache_control on parts and tools
    reasoning_text_field: str | None = None  # echoes the reasoning text under this name
    reasoning_details: bool = False  # echoes reasoning_details as they came


def chat_messages(messages: list[ChatMessage], dialect: Dialect) -> list[dict[str, Any]]:
    return [_message(message, dialect) for message in messages]


def tool_fields(request: ChatRequest, dialect: Dialect) -> dict[str, Any]:
    """tools, tool_choice, parallel_tool_calls and response_format, as the upstream takes them."""
    fields = request.model_dump(include=set(_TOOL_FIELDS), exclude_none=True, by_alias=True)
    if not dialect.cache_marks:
        for tool in fields.get("tools", ()):
            tool.pop("cache_control", None)
    return fields


def _message(message: ChatMessage, dialect: Dialect) -> dict[str, Any]:
    body = message.model_dump(
        include={"role", "content", "name", "tool_call_id", "tool_calls"}, exclude_none=True
    )
    if isinstance(message.content, list):
        body["content"] = [_part(part, dialect) for part in body["content"]]
    if message.role == "assistant" and message.tool_calls and not message.content:
        body["content"] = None  # as OpenAI sends it back (and an empty text block is refused)
    if dialect.reasoning_text_field and message.reasoning is not None:
        body[dialect.reasoning_text_field] = message.reasoning
    if dialect.reasoning_details and message.reasoning_details:
        body["reasoning_details"] = [
            d.model_dump(exclude_none=True) for d in message.reasoning_details
        ]
    return body


def _part(part: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    part = {key: value for key, value in part.items() if value is not None}
    if not dialect.cache_marks:
        part.pop("cache_control", None)
    for nested in ("image_url", "file"):
        if isinstance(part.get(nested), dict):
            part[nested] = {k: v for k, v in part[nested].items() if v is not None}
    return part
