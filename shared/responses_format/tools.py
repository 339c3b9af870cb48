"""Responses API tools and ``tool_choice`` to the gateway's (Chat Completions) forms.

* ``function`` tools are flat (``{"type": "function", "name", "description", "parameters",
  "strict"}``) and become the gateway's nested function tools.
* ``custom`` tools (free-form input, optionally a grammar: Codex's ``apply_patch``) have no
  internal form; they are degraded to a function taking one string, ``input``, whose
  description carries the grammar, and the model's calls of it are answered as
  ``custom_tool_call`` items again. Refusing them would refuse every Codex request for a model
  it knows (it always sends ``apply_patch``), and every model that calls functions can call this.
* Hosted tools the gateway cannot run are dropped when they only add a capability the model
  may do without: ``web_search`` (Codex sends it on every request), ``tool_search`` (deferred
  tool discovery) and ``namespace`` groups (Codex's sub-agent tools, whose calls come back
  under a namespace the internal form has no place for). The others (``file_search``,
  ``code_interpreter``, ``mcp``, ``computer_use_preview``, ``image_generation``, ``local_shell``,
  ...) are refused with ``unsupported_parameter``: a request that names them expects their
  results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.openai_format import UnknownParameter, UnsupportedParameter
from shared.openai_format.errors import invalid

CUSTOM_INPUT = "input"
DROPPED_TOOLS = frozenset(
    {
        "web_search",
        "web_search_preview",
        "web_search_2025_08_26",
        "web_search_preview_2025_03_11",
        "tool_search",
        "namespace",
    }
)
_FUNCTION_KEYS = frozenset({"type", "name", "description", "parameters", "strict"})
# Accepted on a function tool and without effect here (tool search is not served).
_FUNCTION_IGNORED = frozenset({"defer_loading"})
_CUSTOM_KEYS = frozenset({"type", "name", "description", "format", "defer_loading"})
_CHOICE_MODES = ("none", "auto", "required")


@dataclass(frozen=True, slots=True)
class ToolSet:
    """The request's tools in the gateway's form, and which of them are custom tools."""

    tools: list[dict[str, Any]]
    custom: frozenset[str]
    tool_choice: Any = None
    origins: tuple[int, ...] = ()  # the body's index of each tool kept, for errors


def tools_from_responses(raw_tools: object, raw_choice: object) -> ToolSet:
    """``tools`` and ``tool_choice`` of a Responses body; raises with ``details.param``."""
    if raw_tools is None:
        raw_tools = []
    if not isinstance(raw_tools, list):
        raise invalid("tools must be an array", "tools")
    tools: list[tuple[int, dict[str, Any]]] = []
    custom: set[str] = set()
    for i, raw in enumerate(raw_tools):
        where = f"tools[{i}]"
        if not isinstance(raw, dict):
            raise invalid(f"{where} must be an object", where)
        kind = raw.get("type")
        if kind == "function":
            tools.append((i, _function_tool(raw, where)))
        elif kind == "custom":
            tools.append((i, _custom_tool(raw, where)))
            custom.add(str(raw.get("name")))
        elif kind in DROPPED_TOOLS:
            continue
        else:
            raise UnsupportedParameter(
                f"{where}: tools of type {kind!r} are not supported by this gateway "
                "(function and custom tools are; web_search is dropped)",
                details={"param": f"{where}.type"},
            )
    choice, allowed = _tool_choice(raw_choice)
    if allowed is not None:
        tools = [(i, tool) for i, tool in tools if tool["function"]["name"] in allowed]
    kept = [tool for _, tool in tools]
    return ToolSet(kept, frozenset(custom), choice, tuple(i for i, _ in tools))


def _function_tool(raw: dict[str, Any], where: str) -> dict[str, Any]:
    _refuse_unknown(raw, _FUNCTION_KEYS | _FUNCTION_IGNORED, where)
    fields = ("name", "description", "parameters", "strict")
    function = {key: raw[key] for key in fields if raw.get(key) is not None}
    return {"type": "function", "function": function}


def _custom_tool(raw: dict[str, Any], where: str) -> dict[str, Any]:
    _refuse_unknown(raw, _CUSTOM_KEYS, where)
    name = raw.get("name")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise invalid(f"{where}.description must be a string", f"{where}.description")
    how = (
        f'Call it with {{"{CUSTOM_INPUT}": "<text>"}}: the text goes to the tool as it is, '
        "not wrapped in JSON of its own."
    )
    grammar = _grammar(raw.get("format"), f"{where}.format")
    text = "\n\n".join(part for part in (description, how, grammar) if part)
    parameters = {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": "the tool's input"}},
        "required": [CUSTOM_INPUT],
        "additionalProperties": False,
    }
    function = {"name": name, "description": text, "parameters": parameters}
    return {"type": "function", "function": function}


def _grammar(raw: object, where: str) -> str:
    """What the description says about a custom tool's ``format`` (text or a grammar)."""
    if raw is None:
        return ""
    if not isinstance(raw, dict) or raw.get("type") not in ("text", "grammar"):
        raise invalid(f"{where} is {{type: text}} or {{type: grammar, syntax, definition}}", where)
    if raw["type"] == "text":
        return ""
    syntax, definition = raw.get("syntax"), raw.get("definition")
    if syntax not in ("lark", "regex") or not isinstance(definition, str):
        raise invalid(f"{where}: a grammar has syntax lark or regex and a definition", where)
    return f"The text must match this {syntax} grammar:\n{definition}"


def _tool_choice(raw: object) -> tuple[Any, set[str] | None]:
    """The gateway's tool_choice, and the names ``allowed_tools`` restricts the tools to."""
    if raw is None or raw in _CHOICE_MODES:
        return raw, None
    if not isinstance(raw, dict):
        raise invalid("tool_choice is none, auto, required or an object", "tool_choice")
    kind = raw.get("type")
    if kind in ("function", "custom"):
        return {"type": "function", "function": {"name": raw.get("name")}}, None
    if kind == "allowed_tools":
        mode, listed = raw.get("mode", "auto"), raw.get("tools")
        if mode not in ("auto", "required") or not isinstance(listed, list):
            raise invalid("allowed_tools takes a mode (auto, required) and tools", "tool_choice")
        names = {t.get("name") for t in listed if isinstance(t, dict)}
        return mode, {name for name in names if isinstance(name, str)}
    raise UnsupportedParameter(
        f"tool_choice of type {kind!r} is not supported by this gateway",
        details={"param": "tool_choice"},
    )


def _refuse_unknown(raw: dict[str, Any], known: frozenset[str], where: str) -> None:
    for key in raw:
        if key not in known:
            raise UnknownParameter(
                f"unrecognized field in {where}: {key}", details={"param": f"{where}.{key}"}
            )
