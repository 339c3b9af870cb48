"""The worker's one pub/sub connection for control messages: job cancels and circuit changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from redis.asyncio import Redis

log = logging.getLogger(__name__)

Handler = Callable[[bytes], None]


async def listen_for_control(
    redis: Redis,
    handlers: Mapping[str, Handler],
    *,
    on_subscribed: Callable[[], Awaitable[None]],
    on_lost: Callable[[], None],
    retry_delay_s: float = 1.0,
) -> None:
    """Call each channel's handler with its messages, until this task is cancelled.

    ``on_subscribed`` runs once the channels are subscribed (after every reconnect), so state
    read then cannot miss a change; ``on_lost`` runs when the connection drops.
    """
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(*handlers)
                await on_subscribed()
                async for message in pubsub.listen():
                    handlers[message["channel"].decode()](message["data"])
        except asyncio.CancelledError:
            raise
        except Exception:
            # Missed cancels are caught by the maintenance tick, which reads the jobs' flags;
            # without the circuit messages, every circuit check asks Redis.
            on_lost()
            log.warning("control listener lost Redis; reconnecting", exc_info=True)
            await asyncio.sleep(retry_delay_s)
