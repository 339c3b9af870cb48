"""Which tool calls a request gets: the directive's `tool_calls`, the request's `tools` and
`tool_choice`, and each call's argument JSON (generated from the tool's schema when not given).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .scenario import Scenario
from .schema_gen import example


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the JSON text as sent; invalid JSON when a quirk or the directive says so
    input: object  # the parsed arguments ({} when they do not parse to an object)
    fragments: tuple[str, ...]  # `arguments` cut into streaming pieces

    @property
    def tokens(self) -> int:
        return len(self.fragments) + 1


@dataclass(frozen=True)
class Choice:
    none: bool = False
    name: str | None = None  # a forced tool
    single: bool = False  # parallel calls turned off
    allowed: tuple[str, ...] | None = None
    required: bool = False  # some tool must be called (OpenAI "required", Anthropic "any")

    @property
    def forced(self) -> bool:
        return self.required or self.name is not None


def declared_tools(body: dict[str, Any], anthropic: bool) -> dict[str, object]:
    """name → argument schema of every function tool in the request (order kept)."""
    tools = body.get("tools")
    found: dict[str, object] = {}
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        if anthropic:
            if tool.get("type") in (None, "custom") and isinstance(tool.get("name"), str):
                found[tool["name"]] = tool.get("input_schema")
            continue
        function = tool.get("function")
        if tool.get("type") == "function" and isinstance(function, dict):
            name = function.get("name")
            if isinstance(name, str):
                found[name] = function.get("parameters", {"type": "object", "properties": {}})
    return found


def read_choice(body: dict[str, Any], anthropic: bool) -> Choice:
    choice = body.get("tool_choice")
    if anthropic:
        if not isinstance(choice, dict):
            return Choice()
        single = choice.get("disable_parallel_tool_use") is True
        if choice.get("type") == "none":
            return Choice(none=True)
        name = choice.get("name") if choice.get("type") == "tool" else None
        named = name if isinstance(name, str) else None
        return Choice(name=named, single=single, required=choice.get("type") == "any")
    single = body.get("parallel_tool_calls") is False
    if choice == "none":
        return Choice(none=True)
    if choice == "required":
        return Choice(single=single, required=True)
    if isinstance(choice, dict):
        function = choice.get("function")
        if choice.get("type") == "function" and isinstance(function, dict):
            name = function.get("name")
            return Choice(name=name if isinstance(name, str) else None, single=single)
        allowed = choice.get("allowed_tools")
        if choice.get("type") == "allowed_tools" and isinstance(allowed, dict):
            names = [
                t["function"]["name"]
                for t in allowed.get("tools") or []
                if isinstance(t, dict)
                and isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str)
            ]
            required = allowed.get("mode") == "required"
            return Choice(single=single, allowed=tuple(names), required=required)
    return Choice(single=single)


def argument_text(arguments: object) -> str:
    # json.dumps' default separators put spaces after ':' and ',' as the captures show.
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def _malform(text: str) -> str:
    """Drop the closing quote of the first key, as DeepSeek strict mode was seen doing:
    ``{"selected": [...]}`` becomes ``{"selected: [...]}``."""
    if text.startswith('{"'):
        end = text.find('"', 2)
        if end > 0:
            return text[:end] + text[end + 1 :]
    return text + "{"


def _parsed(text: str) -> object:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def fragments(text: str, size: int) -> tuple[str, ...]:
    return tuple(text[i : i + size] for i in range(0, len(text), size))


def plan_calls(
    sc: Scenario,
    body: dict[str, Any],
    *,
    anthropic: bool,
    new_id: Callable[[int], str],
    truncate: bool,
) -> list[ToolCall]:
    """The calls to make, or [] (tool_choice none, or "auto" with no tools declared). A forced
    tool_choice calls like "auto" even without a directive, as a real model must.
    `truncate` (finish_reason length) cuts the last call's arguments in half."""
    choice = read_choice(body, anthropic)
    if choice.none or (sc.tool_calls is None and not choice.forced):
        return []
    declared = declared_tools(body, anthropic)
    if choice.allowed is not None:
        declared = {k: v for k, v in declared.items() if k in choice.allowed}
    wanted: list[dict[str, Any]]
    if isinstance(sc.tool_calls, list):
        wanted = list(sc.tool_calls)
    elif choice.name is not None:
        wanted = [{"name": choice.name}]
    else:
        names = list(declared)
        wanted = [{"name": n} for n in (names if sc.tool_calls == "all" else names[:1])]
    if choice.single:
        wanted = wanted[:1]

    calls: list[ToolCall] = []
    for i, spec in enumerate(wanted):
        name = spec["name"]
        if "arguments" in spec:
            text = argument_text(spec["arguments"])
        else:
            text = argument_text(example(declared.get(name, {"type": "object"})))
        if sc.has_quirk("malformed_args"):
            text = _malform(text)
        if truncate and i == len(wanted) - 1:
            text = text[: len(text) // 2]
        call_id = spec.get("id") or new_id(i)
        calls.append(ToolCall(call_id, name, text, _parsed(text), fragments(text, sc.chunk_chars)))
    return calls
