"""Fields named by Anthropic's paths (``messages.1.content.0.source``) in refusals.

A refusal of the Anthropic body itself is located by its validation error's ``loc``; a refusal
of the gateway's request built from it (a tool result answering no call, an image over the
cap) names the gateway's field, which is mapped back to the block it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shared.errors import GatewayError

_SOURCE_TYPES = frozenset({"base64", "url", "file", "text", "content"})
_BLOCK_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)
_BRANCHES = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})
_MESSAGE = re.compile(r"messages\[(\d+)\]((?:\[\d+\]|\.\w+)*)")
_TOOL = re.compile(r"tools\[(\d+)\](?:\.function\.(\w+))?((?:\[\d+\]|\.\w+)*)")
# The gateway's field -> the Anthropic field it came from, where the names differ.
_RENAMED = {
    "stop": "stop_sequences",
    "user": "metadata.user_id",
    "response_format": "output_config.format",
    "models": "fallback_models",
    "parallel_tool_calls": "tool_choice.disable_parallel_tool_use",
    "reasoning_effort": "thinking",
}
_TOOL_FIELDS = {"parameters": "input_schema", "name": "name", "description": "description"}


def body_path(loc: Sequence[Any]) -> str:
    """A validation error's location in the Anthropic body, without the names pydantic gives
    union branches (``str``, ``list[...]``) and tags (a block's ``image`` before its fields)."""
    kept: list[str] = []
    previous: Any = None
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, str) and (part in _BRANCHES or "[" in part):
            continue
        tag_after_index = isinstance(previous, int) and part in _BLOCK_TYPES
        if not last and (tag_after_index or (previous == "source" and part in _SOURCE_TYPES)):
            previous = part
            continue
        kept.append(str(part))
        previous = part
    return ".".join(kept)


def request_path(internal: str, origins: Sequence[str]) -> str:
    """The gateway's field name (``messages[3].tool_call_id``, ``tools[0].function.parameters``)
    as the Anthropic field it came from (``messages.2.content.0``, ``tools.0.input_schema``)."""
    message = _MESSAGE.fullmatch(internal)
    if message is not None:
        index = int(message[1])
        return origins[index] if index < len(origins) else "messages"
    tool = _TOOL.fullmatch(internal)
    if tool is not None:
        field = _TOOL_FIELDS.get(tool[2] or "")
        return f"tools.{tool[1]}" + (f".{field}" if field else "")
    head, dot, rest = internal.partition(".")
    return _RENAMED.get(head, head) + (dot + rest if head not in _RENAMED else "")


def in_anthropic_terms(error: GatewayError, origins: Sequence[str]) -> GatewayError:
    """``error`` (a refusal of the gateway's request) naming Anthropic's fields, in its
    ``details.param`` and its message."""
    details = error.details
    if isinstance(details, dict) and isinstance(details.get("param"), str):
        error.details = {**details, "param": request_path(details["param"], origins)}

    def message(match: re.Match[str]) -> str:
        return request_path(match[0], origins)

    error.message = _TOOL.sub(message, _MESSAGE.sub(message, error.message))
    error.args = (error.message,)
    return error
