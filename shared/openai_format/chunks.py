"""A job's events as OpenAI's ``chat.completion.chunk`` objects.

As OpenAI streams them: the first chunk carries ``delta.role``, content, reasoning
(``delta.reasoning_content``) and tool-call fragments follow (a call's id, type and name on its
first fragment, then pieces of its arguments, under the call's index), reasoning details to send
back come whole in one chunk before the end, the finishing chunk has an empty delta and the
``finish_reason``, and with ``include_usage`` every chunk has ``usage: null`` but a last one with
``choices: []`` and the usage. A job that fails ends with ``{"error": {...}}``, which the SDK
raises. Fallback and usage events have no chunk: the client sees only the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.events import DeltaEvent, DoneEvent, ErrorEvent, Event, StartEvent, ToolCallDelta
from shared.openai_format.errors import openai_error_body
from shared.openai_format.response import (
    completion_id,
    finish_reason,
    reasoning_details,
    usage_object,
)


@dataclass(slots=True)
class ChunkStream:
    """The chunks of one job's stream, event by event (keep one per stream: it has state)."""

    job_id: str
    created: int
    model: str
    include_usage: bool = False
    _opened: bool = False

    def chunks(self, event: Event) -> list[dict[str, Any]]:
        """What ``event`` adds to the stream (often one chunk, sometimes none)."""
        body = event.body
        if isinstance(body, DeltaEvent):
            return [*self._opening(), self._choice(_delta_of(body))]
        if isinstance(body, StartEvent):
            return self._opening()
        if isinstance(body, DoneEvent):
            ending = self._opening()
            details = body.message.reasoning_details if body.message else []
            if details:  # whole, once: to send back on the next turn
                ending.append(self._choice({"reasoning_details": reasoning_details(details)}))
            ending.append(self._choice({}, finish_reason(body.finish_reason)))
            if self.include_usage:
                ending.append(self._chunk([], usage=usage_object(body.usage)))
            return ending
        if isinstance(body, ErrorEvent):
            return [openai_error_body(body.error())]
        return []

    def _opening(self) -> list[dict[str, Any]]:
        if self._opened:
            return []
        self._opened = True
        return [self._choice({"role": "assistant", "content": "", "refusal": None})]

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._chunk([choice])

    def _chunk(
        self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": completion_id(self.job_id),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:  # OpenAI sends the key only when usage was asked for
            chunk["usage"] = usage
        return chunk


def _delta_of(event: DeltaEvent) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if event.content:
        delta["content"] = event.content
    if event.reasoning:
        delta["reasoning_content"] = event.reasoning
    if event.tool_calls:
        delta["tool_calls"] = [_tool_call_delta(fragment) for fragment in event.tool_calls]
    return delta


def _tool_call_delta(fragment: ToolCallDelta) -> dict[str, Any]:
    """OpenAI's form: id, type and name on a call's first fragment only, then arguments."""
    if fragment.id is None:
        return {"index": fragment.index, "function": {"arguments": fragment.arguments}}
    return {
        "index": fragment.index,
        "id": fragment.id,
        "type": "function",
        "function": {"name": fragment.name or "", "arguments": fragment.arguments},
    }
