"""A job's events as OpenAI's ``chat.completion.chunk`` objects.

As OpenAI streams them: the first chunk carries ``delta.role``, content and reasoning
(``delta.reasoning_content``) follow, the finishing chunk has an empty delta and the
``finish_reason``, and with ``include_usage`` every chunk has ``usage: null`` but a last one with
``choices: []`` and the usage. A job that fails ends with ``{"error": {...}}``, which the SDK
raises. Fallback and usage events have no chunk: the client sees only the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import error_from_event
from shared.events import Event, EventType
from shared.openai_format.errors import openai_error_body
from shared.openai_format.response import completion_id, finish_reason, usage_object


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
        if event.type == EventType.DELTA:
            return [*self._opening(), self._choice(_delta_of(event.data))]
        if event.type == EventType.START:
            return self._opening()
        if event.type == EventType.DONE:
            finish = self._choice({}, finish_reason(event.data.get("finish_reason")))
            ending = [*self._opening(), finish]
            if self.include_usage:
                ending.append(self._chunk([], usage=usage_object(event.data.get("usage"))))
            return ending
        if event.type == EventType.ERROR:
            return [openai_error_body(error_from_event(event.data))]
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


def _delta_of(data: dict[str, Any]) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if data.get("content"):
        delta["content"] = data["content"]
    if data.get("reasoning"):
        delta["reasoning_content"] = data["reasoning"]
    return delta
