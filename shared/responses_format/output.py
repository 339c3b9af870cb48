"""A response as OpenAI's Responses API shows it: the ``response`` object and its output items.

Output items come in the order a provider answers (reasoning, text, then tool calls); each has
an id built from the response's (``msg_``, ``rs_``, ``fc_``/``ctc_`` with the call's index), so
a stream, its replay and the stored response agree. A call of a function that stands for a
custom tool is shown as a ``custom_tool_call`` with its ``input``. The reasoning item shows the
text as ``reasoning_text`` content and, when asked for, carries what must come back in
``encrypted_content``. Usage: ``input_tokens`` includes the cached ones, as OpenAI counts.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.content import AssistantMessage, ReasoningDetail, ToolCall
from shared.responses_format.reasoning import encode_reasoning
from shared.responses_format.records import (
    INCOMPLETE_REASONS,
    ResponseOutcome,
    ResponseShell,
    ResponseStatus,
)
from shared.responses_format.tools import CUSTOM_INPUT
from shared.usage import Usage

# The gateway's error codes under the names Codex CLI acts on (a context-window error, the
# quota message, a retry delay); the rest keep the gateway's code.
_FAILURE_CODES = {
    "rate_limited": "rate_limit_exceeded",
    "budget_exceeded": "insufficient_quota",
    "provider_quota_exhausted": "insufficient_quota",
}


def output_items(shell: ResponseShell, message: AssistantMessage) -> list[dict[str, Any]]:
    """The whole answer as completed output items."""
    items: list[dict[str, Any]] = []
    if message.reasoning or message.reasoning_details:
        items.append(reasoning_item(shell, message.reasoning or "", message.reasoning_details))
    if message.content:
        items.append(message_item(shell, message.content))
    for index, call in enumerate(message.tool_calls):
        items.append(call_item(shell, index, call))
    return items


def message_item(shell: ResponseShell, text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": shell.item_id("msg"),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [output_text(text)] if status != "in_progress" else [],
    }


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def reasoning_item(
    shell: ResponseShell,
    text: str,
    details: list[ReasoningDetail] | None = None,
    *,
    status: str = "completed",
) -> dict[str, Any]:
    """The reasoning item; ``details`` None while it streams (its content is then empty)."""
    item: dict[str, Any] = {
        "id": shell.item_id("rs"),
        "type": "reasoning",
        "summary": [],
        "content": [],
        "encrypted_content": None,
        "status": status,
    }
    if details is None:
        return item
    if text:
        item["content"] = [{"type": "reasoning_text", "text": text}]
    if shell.include_reasoning:
        item["encrypted_content"] = encode_reasoning(text or None, details)
    return item


def call_item(
    shell: ResponseShell, index: int, call: ToolCall, status: str = "completed"
) -> dict[str, Any]:
    """A function call, or a custom tool call when the function stands for a custom tool."""
    name, arguments = call.function.name, call.function.arguments
    if name in shell.custom_tools:
        return {
            "id": shell.item_id("ctc", index),
            "type": "custom_tool_call",
            "status": status,
            "call_id": call.id,
            "name": name,
            "input": custom_input(arguments) if status != "in_progress" else "",
        }
    return {
        "id": shell.item_id("fc", index),
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": name,
        "arguments": arguments if status != "in_progress" else "",
    }


def custom_input(arguments: str) -> str:
    """A custom tool's text from the arguments of the function it was offered as; the
    arguments themselves when the model wrote the text bare."""
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get(CUSTOM_INPUT), str):
        return str(parsed[CUSTOM_INPUT])
    return arguments


def response_object(
    shell: ResponseShell,
    status: ResponseStatus,
    output: list[dict[str, Any]],
    outcome: ResponseOutcome | None = None,
) -> dict[str, Any]:
    """The ``response`` object in ``status`` with ``output``; usage, the error and the
    incomplete reason come from ``outcome``."""
    echo = shell.echo
    incomplete = None
    if outcome is not None and status is ResponseStatus.INCOMPLETE:
        incomplete = {"reason": INCOMPLETE_REASONS.get(outcome.finish_reason or "", "unknown")}
    error = None
    if outcome is not None and outcome.error is not None:
        code = outcome.error.code
        error = {"code": _FAILURE_CODES.get(code, code), "message": outcome.error.message}
    return {
        "id": shell.id,
        "object": "response",
        "created_at": shell.created_at,
        "status": status.value,
        "background": echo.background,
        "completed_at": outcome.completed_at if outcome is not None else None,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": echo.instructions,
        "max_output_tokens": echo.max_output_tokens,
        "model": shell.model,
        "output": output,
        "parallel_tool_calls": echo.parallel_tool_calls,
        "previous_response_id": echo.previous_response_id,
        "prompt_cache_key": echo.prompt_cache_key,
        "reasoning": echo.reasoning or {"effort": None, "summary": None},
        "safety_identifier": echo.safety_identifier,
        "service_tier": echo.service_tier or "default",
        "store": echo.store,
        "temperature": 1.0 if echo.temperature is None else echo.temperature,
        "text": echo.text,
        "tool_choice": echo.tool_choice,
        "tools": echo.tools,
        "top_p": 1.0 if echo.top_p is None else echo.top_p,
        "truncation": echo.truncation,
        "usage": usage_object(outcome.usage) if outcome and outcome.usage else None,
        "user": echo.user,
        "metadata": echo.metadata,
    }


def finished_response(shell: ResponseShell, outcome: ResponseOutcome) -> dict[str, Any]:
    """The response object of an outcome, its output the whole answer."""
    output = output_items(shell, outcome.message) if outcome.message is not None else []
    return response_object(shell, outcome.status, output, outcome)


def usage_object(usage: Usage) -> dict[str, Any]:
    """OpenAI's Responses usage: all five counts, each details object with its inner field."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
    }
