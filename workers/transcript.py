"""What the provider sent for one job: the answer if all goes well, the ``delivered`` note if
not. Tool calls are assembled from their fragments as they stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.config import RouteStep
from shared.content import AssistantMessage, FunctionCall, ReasoningDetail, ToolCall
from shared.embeddings import Embeddings
from shared.events import Delivered, DeltaEvent, ToolCallDelta
from shared.jobs import JobResult
from shared.routing import Attempt
from shared.usage import Usage
from workers.delta_writer import DeltaWriter


@dataclass(slots=True)
class _CallParts:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Transcript:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[_CallParts] = field(default_factory=list)
    reasoning_details: list[ReasoningDetail] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    step: RouteStep | None = None
    writer: DeltaWriter | None = None
    attempts: list[Attempt] = field(default_factory=list)  # steps that failed or were skipped
    embeddings: Embeddings | None = None  # an embedding job's answer

    @property
    def has_output(self) -> bool:
        return bool(self.content or self.reasoning or self.calls)

    def add(self, content: str, reasoning: str, tool_calls: Sequence[ToolCallDelta]) -> None:
        self.content.append(content)
        self.reasoning.append(reasoning)
        for fragment in tool_calls:
            if fragment.index == len(self.calls):
                self.calls.append(_CallParts(fragment.id or "", fragment.name or ""))
            self.calls[fragment.index].arguments.append(fragment.arguments)

    def message(self) -> AssistantMessage:
        return AssistantMessage(
            content="".join(self.content),
            reasoning="".join(self.reasoning) or None,
            tool_calls=[
                ToolCall(
                    id=call.id,
                    function=FunctionCall(name=call.name, arguments="".join(call.arguments)),
                )
                for call in self.calls
            ],
            reasoning_details=list(self.reasoning_details),
        )

    def result(self) -> JobResult:
        """The answer and why it ended: a stream that called tools and said ``stop`` ended
        for its tool calls (some servers say stop there)."""
        finish = self.finish_reason or "stop"
        if self.calls and finish == "stop":
            finish = "tool_calls"
        return JobResult(**self.message().model_dump(), finish_reason=finish)

    def delivered(self) -> Delivered:
        return Delivered() if self.writer is None else self.writer.delivered()

    async def hand_over(self) -> tuple[DeltaEvent | None, float | None]:
        """Before the job's last event: the deltas not stored yet, to store with it (and, when
        they are its first, the wall time the first text arrived)."""
        return (None, None) if self.writer is None else await self.writer.hand_over()

    async def settle(self, *, flush: bool) -> None:
        """Before the job's last event: store the deltas already read, or drop them."""
        if self.writer is not None:
            await (self.writer.close() if flush else self.writer.abort())
