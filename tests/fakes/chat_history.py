"""Conversation checks in the OpenAI Chat Completions family: tool calls and their results,
content parts, reasoning that must come back (DeepSeek), and `response_format`."""

from __future__ import annotations

from typing import Any

from .chat_checks import Dialect, check_part, invalid_value, missing, schema_issue, serde
from .structured import mentions_json
from .wire import Problem

_DS_TOOL_ORPHAN = (
    "Messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
)
_DS_TOOL_MISSING = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
    "'tool_call_id'. (insufficient tool messages following tool_calls message)"
)


def _unanswered(dialect: Dialect, index: int, ids: list[str]) -> Problem:
    if dialect == "deepseek":
        return Problem(_DS_TOOL_MISSING)
    return Problem(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        f"{', '.join(ids)}",
        f"messages.[{index}].role",
    )


def _check_call(
    dialect: Dialect, body: dict[str, Any], i: int, k: int, call: object
) -> Problem | None:
    where = f"messages[{i}].tool_calls[{k}]"
    if not isinstance(call, dict) or not isinstance(call.get("id"), str):
        return (
            serde(body, f"{where}: missing field `id`")
            if dialect == "deepseek"
            else missing(f"{where}.id")
        )
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return missing(f"{where}.function.name")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        if dialect == "deepseek":
            return serde(body, f"{where}.function.arguments: invalid type: expected a string")
        return Problem(
            f"Invalid type for '{where}.function.arguments': expected a string, but got "
            f"{'an object' if isinstance(arguments, dict) else type(arguments).__name__} instead.",
            f"{where}.function.arguments",
            "invalid_type",
        )
    return None


def check_history(
    body: dict[str, Any], dialect: Dialect, *, reasoning_echo: bool = False
) -> Problem | None:
    """Tool results answer the calls just before them, every call is answered, parts are ones
    the provider takes. `reasoning_echo` (DeepSeek thinking mode): assistant tool-call messages
    of the current question must carry their `reasoning_content`."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    open_call: int | None = None  # index of the assistant message whose results are arriving
    call_ids: list[str] = []
    answered: set[str] = set()
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for i, message in enumerate(messages):
        role = message.get("role")
        content = message.get("content")
        if role == "tool":
            tool_call_id = message.get("tool_call_id")
            if not isinstance(tool_call_id, str):
                if dialect == "deepseek":
                    return serde(body, f"messages[{i}]: missing field `tool_call_id`")
                return missing(f"messages[{i}].tool_call_id")
            if open_call is None:
                if dialect == "deepseek":
                    return Problem(_DS_TOOL_ORPHAN)
                return Problem(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            if tool_call_id not in call_ids:
                if dialect == "deepseek":
                    return Problem(_DS_TOOL_ORPHAN)
                return Problem(
                    f"Invalid parameter: 'tool_call_id' of '{tool_call_id}' not found in "
                    "'tool_calls' of previous message.",
                    f"messages.[{i}].tool_call_id",
                )
            answered.add(tool_call_id)
        else:
            if open_call is not None and set(call_ids) - answered:
                return _unanswered(dialect, open_call, [c for c in call_ids if c not in answered])
            open_call, call_ids, answered = None, [], set()
        calls = message.get("tool_calls")
        if role == "assistant" and calls:
            if not isinstance(calls, list):
                return missing(f"messages[{i}].tool_calls")
            for k, call in enumerate(calls):
                found = _check_call(dialect, body, i, k, call)
                if found:
                    return found
            if (
                reasoning_echo
                and i > last_user
                and not isinstance(message.get("reasoning_content"), str)
            ):
                return Problem(
                    "Missing reasoning_content field in the assistant message at message index "
                    f"{i}. For more information, please refer to "
                    "https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
                )
            open_call, call_ids = i, [c["id"] for c in calls]
        if isinstance(content, list):
            for j, part in enumerate(content):
                found = check_part(body, dialect, str(role), i, j, part)
                if found:
                    return found
    if open_call is not None and set(call_ids) - answered:
        return _unanswered(dialect, open_call, [c for c in call_ids if c not in answered])
    return None


def check_response_format(body: dict[str, Any], dialect: Dialect) -> Problem | None:
    fmt = body.get("response_format")
    if fmt is None or dialect == "openrouter":
        return None  # OpenRouter passes it on; the chosen model decides
    if not isinstance(fmt, dict):
        return Problem("Invalid type for 'response_format'.", "response_format", "invalid_type")
    kind = fmt.get("type")
    if dialect == "deepseek":
        if kind not in ("text", "json_object"):
            return Problem("This response_format type is unavailable now")
        if kind == "json_object" and not mentions_json(body):
            return Problem(
                "Prompt must contain the word 'json' in some form to use 'response_format' of "
                "type 'json_object'"
            )
        return None
    if kind not in ("text", "json_object", "json_schema"):
        return invalid_value(kind, ("json_object", "json_schema", "text"), "response_format.type")
    if kind == "json_object" and not mentions_json(body):
        return Problem(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of "
            "type 'json_object'.",
            "messages",
        )
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            return missing("response_format.json_schema")
        name = spec.get("name")
        if not isinstance(name, str):
            return missing("response_format.json_schema.name")
        if "schema" in spec:
            issue = schema_issue(
                f"response_format '{name}'", spec["schema"], spec.get("strict") is True
            )
            if issue:
                return Problem(issue, "response_format", "invalid_json_schema")
    return None
