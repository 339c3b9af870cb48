"""One Redis pub/sub connection per gateway process, fanned out in memory to waiting requests.

A reader gets a queue of events for its job. ``None`` in the queue means "you may have missed
something": the connection was re-established, so the reader re-reads the job's stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from shared.errors import ServiceUnavailable
from shared.events import Event, decode_published
from shared.keys import RedisKeys

log = logging.getLogger(__name__)

EventQueue = asyncio.Queue[Event | None]


# Told each message of a channel the hub always follows.
Watcher = Callable[[bytes], None]


class EventHub:
    """Subscribes to a job's channel while at least one local reader wants it, and to the
    ``watched`` channels always; ``on_reconnect`` runs when messages may have been missed."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        watched: Mapping[str, Watcher] | None = None,
        on_reconnect: Callable[[], None] | None = None,
        reconnect_delay_s: float = 0.5,
        subscribe_timeout_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._watched = {name.encode(): watcher for name, watcher in (watched or {}).items()}
        self._on_reconnect = on_reconnect
        self._reconnect_delay_s = reconnect_delay_s
        self._subscribe_timeout_s = subscribe_timeout_s
        self._readers: dict[bytes, set[EventQueue]] = {}
        self._confirmed: dict[bytes, asyncio.Future[None]] = {}
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._idle_channel = keys.hub_idle_channel.encode()

    async def start(self) -> None:
        try:
            self._pubsub = await self._connect()
        except Exception:
            log.warning("event hub cannot reach Redis at start; will keep trying")
        self._task = asyncio.create_task(self._read_forever(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @property
    def subscribers(self) -> int:
        """Local readers waiting on job channels."""
        return sum(len(readers) for readers in self._readers.values())

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[EventQueue]:
        """A queue receiving the job's live events, from the moment this returns."""
        channel = self._keys.job_channel(job_id).encode()
        queue: EventQueue = asyncio.Queue()
        readers = self._readers.setdefault(channel, set())
        readers.add(queue)
        try:
            if len(readers) == 1:
                await self._subscribe(channel)
            await self._wait_confirmed(channel)
            yield queue
        finally:
            readers.discard(queue)
            if not readers:
                del self._readers[channel]
                self._confirmed.pop(channel, None)
                await asyncio.shield(self._unsubscribe(channel))

    async def _subscribe(self, channel: bytes) -> None:
        self._confirmed[channel] = asyncio.get_running_loop().create_future()
        if self._pubsub is None:
            raise ServiceUnavailable("the gateway has lost Redis; try again shortly")
        await self._pubsub.subscribe(channel)

    async def _wait_confirmed(self, channel: bytes) -> None:
        try:
            async with asyncio.timeout(self._subscribe_timeout_s):
                await asyncio.shield(self._confirmed[channel])
        except TimeoutError as exc:
            raise ServiceUnavailable("Redis did not confirm the subscription") from exc

    async def _unsubscribe(self, channel: bytes) -> None:
        if self._pubsub is not None and channel not in self._readers:
            with suppress(Exception):  # a lost connection has dropped the subscription anyway
                await self._pubsub.unsubscribe(channel)

    async def _connect(self) -> PubSub:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._idle_channel, *self._watched, *self._readers)
        return pubsub

    async def _read_forever(self) -> None:
        while True:
            try:
                if self._pubsub is None:
                    await self._reconnect()
                    continue
                message = await self._pubsub.get_message(timeout=None)
                if message is not None:
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event hub lost Redis; resubscribing", exc_info=True)
                await self._reconnect()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel: bytes = message["channel"]
        kind = message["type"]
        if kind == "message":
            watcher = self._watched.get(channel)
            if watcher is not None:
                watcher(message["data"])
                return
            readers = self._readers.get(channel)
            if readers:
                events = decode_published(message["data"])
                for queue in readers:
                    for event in events:
                        queue.put_nowait(event)
        elif kind == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)

    async def _reconnect(self) -> None:
        if self._pubsub is not None:
            with suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        while self._pubsub is None:
            await asyncio.sleep(self._reconnect_delay_s)
            try:
                self._pubsub = await self._connect()
            except Exception:
                log.warning("event hub cannot reach Redis yet", exc_info=True)
        # The subscriptions are back; whatever was published meanwhile is in the streams.
        if self._on_reconnect is not None:
            self._on_reconnect()
        for readers in self._readers.values():
            for queue in readers:
                queue.put_nowait(None)
