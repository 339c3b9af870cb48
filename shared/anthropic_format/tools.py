"""Anthropic ``tools`` and ``tool_choice`` as the gateway's (wire-tools §4.1, read backwards).

A client tool (``type`` absent or ``custom``) is a function tool: ``input_schema`` its
parameters, with its ``cache_control`` and ``strict``. Fields that steer Anthropic's own tool
machinery (``defer_loading``, ``eager_input_streaming``, ``input_examples``,
``allowed_callers``) are accepted and not carried: a deferred tool is offered like any other.
Server tools (web search, code execution, bash, text editor...) run inside Anthropic's API,
which no other provider has: they are refused with ``unsupported_parameter``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.anthropic_format.wire import ToolChoice, ToolDefinition
from shared.errors import InvalidRequest


class UnsupportedTool(InvalidRequest):
    """A server tool, or a field the gateway cannot honour for every provider."""

    code = "unsupported_parameter"
    http_status = 400


def tools_field(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The tools as ChatRequest's ``tools``; None when none are given."""
    if not raw:
        return None
    return [_tool(entry, f"tools.{i}") for i, entry in enumerate(raw)]


def _tool(raw: Any, at: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{at}: a tool is an object", details={"param": at})
    kind = raw.get("type")
    if kind not in (None, "custom"):
        raise UnsupportedTool(
            f"{at}: server tools ({kind}) run inside Anthropic's API and are not available "
            "through this gateway; declare a client tool (name, description, input_schema)",
            details={"param": f"{at}.type"},
        )
    try:
        tool = ToolDefinition.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in (at, *first["loc"]))
        raise InvalidRequest(f"{path}: {first['msg']}", details={"param": path}) from exc
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    entry: dict[str, Any] = {"type": "function", "function": function}
    if tool.cache_control is not None:
        entry["cache_control"] = tool.cache_control.model_dump(exclude_none=True)
    return entry


def tool_choice_fields(choice: ToolChoice | None) -> dict[str, Any]:
    """``tool_choice`` and ``parallel_tool_calls`` (from ``disable_parallel_tool_use``)."""
    if choice is None:
        return {}
    fields: dict[str, Any] = {}
    if choice.type == "tool":
        if not choice.name:
            raise InvalidRequest(
                "tool_choice.name: Field required for type tool",
                details={"param": "tool_choice.name"},
            )
        fields["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        fields["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.type]
    if choice.disable_parallel_tool_use:
        fields["parallel_tool_calls"] = False
    return fields
