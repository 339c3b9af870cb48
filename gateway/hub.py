"""One Redis pub/sub connection per gateway process, fanned out in memory to waiting requests.

A reader gets a queue of events for its job. ``None`` in the queue means "you may have missed
something": the connection was re-established, so the reader re-reads the job's stream.

The hub has a channel of its own, subscribed for its whole life: a job this gateway created
names it (the job's ``notify`` field) and each append publishes there too, so the job's creator
follows it without a SUBSCRIBE and an UNSUBSCRIBE of its own. Anyone else subscribes to the
job's channel.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
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
        # What the jobs this hub's gateway creates name as their ``notify`` channel.
        self.channel = keys.hub_channel(uuid.uuid4().hex)
        self._channel = self.channel.encode()
        # Redis confirmed the hub's channel on the current connection (made anew by each).
        self._listening: asyncio.Future[None] | None = None

    async def start(self) -> None:
        try:
            self._pubsub = await self._connect()
        except Exception:
            log.warning("event hub cannot reach Redis at start; will keep trying")
        self._task = asyncio.create_task(self._read_forever(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            # Python 3.11's wait_for drops a cancellation that lands as its read completes
            # (fakeredis reads through it): cancel again until the task ends.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=0.1)
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]

    @property
    def subscribers(self) -> int:
        """Local readers waiting on job channels."""
        return sum(len(readers) for readers in self._readers.values())

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    @asynccontextmanager
    async def subscribe(self, job_id: str, *, notified: bool = False) -> AsyncIterator[EventQueue]:
        """A queue receiving the job's live events, from the moment this returns.
        ``notified``: the job names this hub's channel (it was created here, after this
        returned), so no subscription of its own is needed: only the hub's own, confirmed."""
        channel = self._keys.job_channel(job_id).encode()
        queue: EventQueue = asyncio.Queue()
        self._readers.setdefault(channel, set()).add(queue)
        try:
            if notified:
                await self._confirmation(self._listening)
            else:
                if channel not in self._confirmed:
                    await self._subscribe(channel)
                await self._confirmation(self._confirmed[channel])
            yield queue
        finally:
            readers = self._readers[channel]
            readers.discard(queue)
            if not readers:
                del self._readers[channel]
                if self._confirmed.pop(channel, None) is not None:
                    await asyncio.shield(self._unsubscribe(channel))

    async def _subscribe(self, channel: bytes) -> None:
        if self._pubsub is None:
            raise ServiceUnavailable("the gateway has lost Redis; try again shortly")
        self._confirmed[channel] = asyncio.get_running_loop().create_future()
        await self._pubsub.subscribe(channel)

    async def _confirmation(self, confirmed: asyncio.Future[None] | None) -> None:
        if self._pubsub is None or confirmed is None:
            raise ServiceUnavailable("the gateway has lost Redis; try again shortly")
        if confirmed.done():
            return
        try:
            async with asyncio.timeout(self._subscribe_timeout_s):
                await asyncio.shield(confirmed)
        except TimeoutError as exc:
            raise ServiceUnavailable("Redis did not confirm the subscription") from exc

    async def _unsubscribe(self, channel: bytes) -> None:
        if self._pubsub is not None and channel not in self._readers:
            with suppress(Exception):  # a lost connection has dropped the subscription anyway
                await self._pubsub.unsubscribe(channel)

    async def _connect(self) -> PubSub:
        self._listening = asyncio.get_running_loop().create_future()
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel, *self._watched, *self._confirmed)
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
            data: bytes = message["data"]
            if channel == self._channel:
                # The job's channel, then what was published there.
                channel, _, data = data.partition(b"\n")
                if self._subscribed(channel):
                    return  # the job's own channel brought it already
            else:
                watcher = self._watched.get(channel)
                if watcher is not None:
                    watcher(data)
                    return
            self._deliver(channel, data)
        elif kind == "subscribe":
            confirmed = (
                self._listening if channel == self._channel else self._confirmed.get(channel)
            )
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)

    def _subscribed(self, channel: bytes) -> bool:
        # A job's channel and then the hub's carry each append, in that order, on the one
        # connection: once the subscription is confirmed, the first copy always comes first.
        confirmed = self._confirmed.get(channel)
        return confirmed is not None and confirmed.done()

    def _deliver(self, channel: bytes, data: bytes) -> None:
        readers = self._readers.get(channel)
        if readers:
            events = decode_published(data)
            for queue in readers:
                for event in events:
                    queue.put_nowait(event)

    async def _reconnect(self) -> None:
        if self._pubsub is not None:
            with suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
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
