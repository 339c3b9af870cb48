"""A finished job as Anthropic's ``message`` object, and the pieces the stream shares with it.

* ``content``: thinking blocks (signed ``thinking`` and ``redacted_thinking`` from the answer's
  ``reasoning_details``, or the reasoning text of a provider without them, unsigned), the text,
  then a ``tool_use`` block per call with its arguments parsed (``{}`` when they are not an
  object, which only a cut-short answer leaves).
* ``stop_reason`` from the finish reason: ``tool_calls`` is ``tool_use``, ``length`` is
  ``max_tokens``, ``content_filter`` is ``refusal``, anything else ``end_turn``. The gateway's
  finish reason does not keep Anthropic's ``stop_sequence`` apart from ``end_turn``, so a stop
  sequence ends as ``end_turn`` with ``stop_sequence: null``.
* ``usage``: ``input_tokens`` is the prompt less what was read from and written to the prompt
  cache, as Anthropic counts it; ``cache_creation`` splits the writes by TTL.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.content import AssistantMessage
from shared.jobs import Answer
from shared.usage import Usage

ID_PREFIX = "msg_"
_STOP_REASONS = {"tool_calls": "tool_use", "length": "max_tokens", "content_filter": "refusal"}


def message_id(job_id: str) -> str:
    return ID_PREFIX + job_id


def stop_reason(finish_reason: str | None) -> str:
    return _STOP_REASONS.get(finish_reason or "stop", "end_turn")


def message_of(answered: Answer) -> dict[str, Any]:
    """The ``message`` of a succeeded job; ``model`` is the routed model's name."""
    if answered.result is None:
        raise ValueError(f"job {answered.job_id} has no completion")
    answer = answered.result
    content = [*thinking_blocks(answer)]
    if answer.content:
        content.append({"type": "text", "text": answer.content})
    for call in answer.tool_calls:
        function = call.function
        use = {"type": "tool_use", "id": call.id, "name": function.name}
        content.append({**use, "input": tool_input(function.arguments)})
    return {
        "id": message_id(answered.job_id),
        "type": "message",
        "role": "assistant",
        "model": answered.model,
        "content": content,
        "stop_reason": stop_reason(answer.finish_reason),
        "stop_sequence": None,
        "usage": usage_object(answered.usage),
    }


def thinking_blocks(answer: AssistantMessage) -> list[dict[str, Any]]:
    """The answer's reasoning as thinking blocks, in order, to be sent back unchanged."""
    blocks: list[dict[str, Any]] = []
    for detail in answer.reasoning_details:
        if detail.type == "reasoning.text" and (detail.text or detail.signature):
            text, signature = detail.text or "", detail.signature or ""
            blocks.append({"type": "thinking", "thinking": text, "signature": signature})
        elif detail.type == "reasoning.encrypted" and detail.data:
            blocks.append({"type": "redacted_thinking", "data": detail.data})
    if answer.reasoning and not any(b["type"] == "thinking" for b in blocks):
        blocks.insert(0, {"type": "thinking", "thinking": answer.reasoning, "signature": ""})
    return blocks


def tool_input(arguments: str) -> dict[str, Any]:
    """A call's arguments as the object ``input`` is."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def usage_object(usage: Usage | None) -> dict[str, Any]:
    """Anthropic's ``usage`` from the gateway's."""
    usage = usage or Usage()
    written = usage.cache_write_tokens
    return {
        "input_tokens": max(0, usage.prompt_tokens - usage.cached_tokens - written),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "service_tier": "standard",
    }
