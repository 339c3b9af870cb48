"""The Event contract: one stream protocol that every front end maps from, as typed records.

On the wire an event is one compact JSON object ``{"seq": n, "type": ..., <fields>}``. The worker
encodes the object without ``seq``; the append script assigns the next seq and splices it in, so
the seq and the stored bytes can never disagree. This module is the only one that encodes or
decodes events: everything else reads their typed fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.content import AssistantMessage
from shared.embeddings import Embeddings
from shared.errors import GatewayError, error_for_code
from shared.usage import Usage

CacheStatus = Literal["HIT", "MISS"]


class EventType(StrEnum):
    START = "start"
    DELTA = "delta"
    FALLBACK = "fallback"
    USAGE = "usage"
    DONE = "done"
    ERROR = "error"

    @property
    def terminal(self) -> bool:
        return self in (EventType.DONE, EventType.ERROR)


def _zero(value: int) -> bool:
    return value == 0


def _empty(value: object) -> bool:
    return not value


def _none(value: object) -> bool:
    return value is None


class _Record(BaseModel):
    # Frozen: an event read back is shared by every reader of a job in the process. Unknown
    # fields are ignored, so a gateway reads what a newer worker writes.
    model_config = ConfigDict(frozen=True, extra="ignore")


class _EventBase(_Record):
    # 0 until the append script numbers the event; never encoded as 0.
    seq: int = Field(0, exclude_if=_zero)


class ToolCallDelta(_Record):
    """A fragment of one tool call: ``id`` and ``name`` come with a call's first fragment, then
    pieces of its ``arguments`` JSON, all under the call's ``index``."""

    index: int
    id: str | None = Field(None, exclude_if=_none)
    name: str | None = Field(None, exclude_if=_none)
    arguments: str = ""


class Delivered(_Record):
    """What had been streamed to readers before a job failed."""

    deltas: int = 0
    content_chars: int = 0
    reasoning_chars: int = 0
    tool_call_chars: int = 0


class StartEvent(_EventBase):
    """The provider and upstream model serving the job (the first one tried)."""

    type: Literal[EventType.START] = EventType.START
    provider: str
    model: str
    cache: CacheStatus | None = Field(None, exclude_if=_none)


class DeltaEvent(_EventBase):
    """A piece of the answer: text, reasoning and tool-call fragments, in the provider's order."""

    type: Literal[EventType.DELTA] = EventType.DELTA
    content: str = Field("", exclude_if=_empty)
    reasoning: str = Field("", exclude_if=_empty)
    tool_calls: tuple[ToolCallDelta, ...] = Field((), exclude_if=_empty)

    @property
    def has_output(self) -> bool:
        return bool(self.content or self.reasoning or self.tool_calls)


class FallbackEvent(_EventBase):
    """A step of the route failed (or was passed over) before the first token; ``next_*`` name
    the step tried next, if any."""

    type: Literal[EventType.FALLBACK] = EventType.FALLBACK
    provider: str
    model: str
    code: str
    reason: str
    next_provider: str | None
    next_model: str | None
    wait_s: float = 0.0


class UsageEvent(_EventBase):
    """Token counts reported before the end."""

    type: Literal[EventType.USAGE] = EventType.USAGE
    usage: Usage


class DoneEvent(_EventBase):
    """The job succeeded: why the answer ended, who served it, the whole answer (tool calls
    with whole arguments, reasoning details to send back), its usage and cost."""

    type: Literal[EventType.DONE] = EventType.DONE
    finish_reason: str
    provider: str
    model: str
    usage: Usage
    cost: float | None
    message: AssistantMessage | None = Field(None, exclude_if=_none)
    embeddings: Embeddings | None = Field(None, exclude_if=_none)  # an embedding job's vectors
    cache: CacheStatus | None = Field(None, exclude_if=_none)


class ErrorEvent(_EventBase):
    """The job ended without an answer: a stable ``code``, and what was streamed before."""

    type: Literal[EventType.ERROR] = EventType.ERROR
    code: str
    message: str
    retryable: bool = False
    delivered: Delivered | None = Field(None, exclude_if=_none)
    details: Any = Field(None, exclude_if=_none)

    @classmethod
    def of(cls, error: GatewayError, delivered: Delivered | None = None) -> ErrorEvent:
        return cls(
            code=error.code,
            message=error.message,
            retryable=error.retryable,
            delivered=delivered,
            details=error.details,
        )

    def error(self) -> GatewayError:
        """The error this event describes, to answer a waiting request with; its details say
        what was delivered and carry the original details."""
        details = self.model_dump(mode="json", include={"delivered", "details"})
        return error_for_code(self.code, self.message, details=details or None)


EventBody = Annotated[
    StartEvent | DeltaEvent | FallbackEvent | UsageEvent | DoneEvent | ErrorEvent,
    Field(discriminator="type"),
]
_BODY: TypeAdapter[EventBody] = TypeAdapter(EventBody)


@dataclass(frozen=True, slots=True)
class Event:
    """An event as stored in the job's stream: its typed body and the exact bytes readers get."""

    body: EventBody
    raw: bytes

    @property
    def seq(self) -> int:
        return self.body.seq

    @property
    def type(self) -> EventType:
        return self.body.type

    @property
    def terminal(self) -> bool:
        return self.body.type.terminal


def encode_body(body: EventBody) -> bytes:
    """The event's JSON without its seq (the append script numbers it)."""
    return body.model_dump_json(exclude={"seq"}).encode()


def decode_event(raw: bytes) -> Event:
    """An event read back from the stream."""
    return Event(_BODY.validate_json(raw), raw)


def decode_published(message: bytes) -> list[Event]:
    """The events of one message of a job's channel: an append's events, one per line
    (compact JSON holds no raw newline)."""
    return [decode_event(raw) for raw in message.split(b"\n")]


def numbered(body: EventBody, seq: int) -> Event:
    """``body`` as the event numbered ``seq``, encoded as the append script would store it."""
    encoded = encode_body(body)
    return Event(body.model_copy(update={"seq": seq}), b'{"seq":%d,%s' % (seq, encoded[1:]))
