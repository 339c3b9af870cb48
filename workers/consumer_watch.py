"""Is this worker's Celery consumer still taking jobs? A process can stay alive with a consumer
that no longer polls the broker (a known Celery failure after a broker reconnect, or a consumer
cancelled by remote control). The heartbeat must then stop saying "consuming".

A consumer step samples, on Celery's own event loop, when each queue was last polled: with the
Redis transport, the time kombu last sent BRPOP for it (it re-sends at least every
``brpop_timeout``, 1 s); a consumer that has no room for more jobs does not poll and counts as
polling. A queue not polled for ``consumer_stall_s`` is reported stalled (the worker's
heartbeat leaves that queue); after twice that the consumer is restarted (the queue consumed
again, the broker connection dropped so that kombu reconnects); after three times the worker
exits with an error, for its supervisor to start a new one.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import Any

from celery import bootsteps
from celery.exceptions import WorkerShutdown

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 1.0
EXIT_CODE = 70  # EX_SOFTWARE: the supervisor restarts it (compose, Kubernetes)


class ConsumerState(StrEnum):
    STARTING = "starting"  # not polled yet
    CONSUMING = "consuming"
    STALLED = "stalled"


class ConsumerWatch:
    """When each queue was last polled (monotonic), written by Celery's loop, read by the
    worker's runtime. Plain floats in a dict: safe across the two threads."""

    def __init__(self, queues: list[str], stall_s: float) -> None:
        self.queues = list(queues)
        self.stall_s = stall_s
        self.last_poll: dict[str, float] = {}
        self.restarted_at: float | None = None

    def disconnected(self) -> None:
        """Forget the polls of a lost connection: nothing is consumed, and nothing stalled
        (reconnecting is Celery's job; the watch starts again when it is connected)."""
        self.last_poll.clear()
        self.restarted_at = None

    def poll_age(self, queue: str, now: float | None = None) -> float | None:
        polled = self.last_poll.get(queue)
        return None if polled is None else (now or time.monotonic()) - polled

    def state(self, queue: str, now: float | None = None) -> ConsumerState:
        age = self.poll_age(queue, now)
        if age is None:
            return ConsumerState.STARTING
        return ConsumerState.STALLED if age >= self.stall_s else ConsumerState.CONSUMING

    def consuming(self) -> list[str]:
        now = time.monotonic()
        return [q for q in self.queues if self.state(q, now) is ConsumerState.CONSUMING]

    def stalled(self) -> list[str]:
        now = time.monotonic()
        return [q for q in self.queues if self.state(q, now) is ConsumerState.STALLED]

    def sample(self, consumer: Any) -> None:
        """Record which queues the consumer polls now (on Celery's event loop)."""
        now = time.monotonic()
        task_consumer = getattr(consumer, "task_consumer", None)
        if task_consumer is None:
            return
        subscribed = {queue.name for queue in task_consumer.queues}
        channel = task_consumer.channel
        qos = getattr(channel, "qos", None)
        full = qos is not None and hasattr(qos, "can_consume") and not qos.can_consume()
        sent_at = getattr(channel, "_brpop_sent_at", None)
        polled = getattr(channel, "active_queues", subscribed)
        connected = bool(getattr(consumer.connection, "connected", False))
        for queue in self.queues:
            if queue not in subscribed or queue not in polled:
                continue
            if full:
                self.last_poll[queue] = now
            elif sent_at is not None:  # kombu's Redis transport: the last BRPOP sent
                self.last_poll[queue] = max(self.last_poll.get(queue, 0.0), sent_at)
            elif not hasattr(channel, "_brpop_sent_at") and connected:
                self.last_poll[queue] = now  # another transport: subscribed and connected

    def act(self, consumer: Any) -> None:
        """Restart a consumer stalled for twice ``stall_s``; exit after three times."""
        now = time.monotonic()
        ages = [age for q in self.queues if (age := self.poll_age(q, now)) is not None]
        worst = max(ages, default=0.0)
        if worst < 2 * self.stall_s:
            self.restarted_at = None
            return
        if self.restarted_at is None:
            self.restarted_at = now
            log.error("the consumer has not polled for %.0f s; restarting it", worst)
            _restart(consumer, self.stalled())
        elif worst >= 3 * self.stall_s:
            log.error("the consumer still does not poll after a restart; exiting")
            raise WorkerShutdown(EXIT_CODE)


def _restart(consumer: Any, queues: list[str]) -> None:
    task_consumer = consumer.task_consumer
    subscribed = {queue.name for queue in task_consumer.queues}
    for queue in queues:
        if queue not in subscribed:
            consumer.add_task_queue(queue)
    client = getattr(task_consumer.channel, "client", None)
    connection = getattr(client, "connection", None)
    if connection is not None:
        connection.disconnect()  # kombu registers the BRPOP again on a fresh connection


class ConsumerWatchStep(bootsteps.StartStopStep):
    """The consumer bootstep that samples and acts, once a second, on Celery's event loop."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, consumer_watch: ConsumerWatch | None = None, **kwargs: Any):
        super().__init__(parent, **kwargs)
        self.watch = consumer_watch
        self.timer: Any = None

    def start(self, parent: Any) -> None:
        if self.watch is None or self.timer is not None:
            return
        watch = self.watch

        def tick() -> None:
            watch.sample(parent)
            watch.act(parent)

        self.timer = parent.timer.call_repeatedly(SAMPLE_INTERVAL_S, tick)

    def stop(self, parent: Any) -> None:
        """The connection is lost (or the worker stops): Celery cancels the timer entries of
        the connection, this one among them; until it is back, no queue counts as consumed."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.watch is not None:
            self.watch.disconnected()

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
