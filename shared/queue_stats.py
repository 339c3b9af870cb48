"""What waits in the broker, read the way kombu's Redis transport keeps it: each queue is a list
named after it (one more per priority step, ``<queue>\\x06\\x16<n>``), pushed on the left and
popped on the right, so the oldest message is at index -1; messages taken by a worker and not
yet acknowledged sit in the ``unacked`` hash, indexed by the ``unacked_index`` sorted set."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from shared.telemetry import HEADER_ENQUEUED_AT

# kombu.transport.redis: Channel.sep, PRIORITY_STEPS (0 is the plain name), unacked_index_key.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
UNACKED_INDEX = "unacked_index"


@dataclass(frozen=True, slots=True)
class QueueReading:
    """One queue at one moment."""

    queue: str
    depth: int
    oldest_age_s: float  # 0 when empty, or when the oldest message carries no enqueue time


def priority_lists(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


async def read_queues(broker: Redis, queues: list[str]) -> tuple[list[QueueReading], int]:
    """Depth and oldest age of each queue, and the unacknowledged messages of all of them:
    one pipeline of a few O(1) commands, cheap enough for every scrape."""
    async with broker.pipeline(transaction=False) as pipe:
        for queue in queues:
            for name in priority_lists(queue):
                pipe.llen(name)
            pipe.lindex(queue, -1)
        pipe.zcard(UNACKED_INDEX)
        replies = await pipe.execute()
    now = time.time()
    readings = []
    per_queue = len(PRIORITY_STEPS) + 1
    for index, queue in enumerate(queues):
        chunk = replies[index * per_queue : (index + 1) * per_queue]
        depth = sum(int(n) for n in chunk[:-1])
        readings.append(QueueReading(queue, depth, _age(chunk[-1], now) if depth else 0.0))
    return readings, int(replies[-1])


def _age(raw: bytes | None, now: float) -> float:
    if raw is None:
        return 0.0
    try:
        enqueued_at = orjson.loads(raw)["headers"][HEADER_ENQUEUED_AT]
        return max(0.0, now - float(enqueued_at))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return 0.0
