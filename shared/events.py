"""The Event contract: one stream protocol that every front end maps from.

On the wire an event is one compact JSON object ``{"seq": n, "type": ..., <fields>}``. The worker
encodes the object without ``seq``; the append script assigns the next seq and splices it in, so
the seq and the stored bytes can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


class EventType(StrEnum):
    START = "start"  # provider, model
    DELTA = "delta"  # content and/or reasoning
    FALLBACK = "fallback"  # failed provider, reason, next provider
    USAGE = "usage"  # usage
    DONE = "done"  # finish_reason, usage, cost
    ERROR = "error"  # code, message, retryable, delivered

    @property
    def terminal(self) -> bool:
        return self in (EventType.DONE, EventType.ERROR)


@dataclass(frozen=True, slots=True)
class Event:
    """An event as read back from the job's stream or channel."""

    seq: int
    type: str
    data: dict[str, Any]
    raw: bytes

    @property
    def terminal(self) -> bool:
        return self.type in (EventType.DONE, EventType.ERROR)

    @classmethod
    def parse(cls, raw: bytes) -> Event:
        data = orjson.loads(raw)
        return cls(seq=data["seq"], type=data["type"], data=data, raw=raw)


def encode_body(event_type: EventType, fields: dict[str, Any]) -> bytes:
    """The event's JSON without its seq: ``{"type": ..., **fields}``."""
    return orjson.dumps({"type": event_type.value, **fields})
