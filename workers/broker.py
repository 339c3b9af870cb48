"""kombu's Redis transport, with one fix and one saving.

The saving: kombu records every delivered message in Redis (its unacknowledged hash and index)
and removes it on the ack, two blocking round trips on the Celery consumer's thread per task,
over half of that thread's work per job. Where the broker is the job store's Redis, a job's
task needs neither: a worker dying with a claimed job leaves a lease that lapses, and one dying
between taking a task and claiming its job leaves a queued job that no queue holds, which the
recovery of stale queued jobs enqueues again (``shared/leases.py``). So job tasks are tracked
in the worker's memory only (acks, prefetch counts); other tasks as kombu does.

The fix: a worker survives its broker going away with tasks in flight (installed kombu 5.7.0
with Celery 5.7.0; no released version has it).

What happens without it: on a lost connection Celery's consumer calls ``Connection.collect()``,
which closes the channel (a close that the lost socket interrupts before the channel is marked
closed) and then detaches the transport from its Connection (``transport.client = None``).
Celery then closes the connection once more; the channel, still open, restores its
unacknowledged messages, which needs a new connection pool, whose parameters come from
``transport.client``: ``AttributeError: 'NoneType' object has no attribute 'hostname'`` in
``_connparams``, which no ``ignore_errors`` catches, and the worker exits for good.

The fix keeps the channel's connection pool when it closes (disconnected, it reconnects on
demand), so nothing needs the detached Connection again, and a channel closed after its
connection was collected leaves its unacknowledged messages where they are: their tasks still
run in this process (a threads pool starts every task it reserves), they ack through the kept
pool once Redis answers, and a task whose job did not finish is recovered by the job leases
(``workers/recovery.py``), not by pushing it back to be delivered twice.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from shared.queue import RUN_JOB_TASK
from shared.settings import Settings

# The transport option that says the job store's Redis is the broker (see run_worker).
LEASES_COVER_JOB_TASKS = "leases_cover_job_tasks"


class QoS(kombu_redis.QoS):
    """kombu's, except that job tasks are not recorded in Redis where leases cover them."""

    channel: Any

    def _leased(self, message: Any, delivery_tag: str) -> bool:
        headers = message.headers or {}
        return bool(
            self.channel.leases_cover_job_tasks
            and headers.get("task") == RUN_JOB_TASK
            and headers.get("id") == delivery_tag  # our message: its tag is the job id
        )

    def _leased_delivery(self, delivery_tag: str) -> Any:
        """The delivered message under ``delivery_tag`` if leases cover it, else None."""
        delivered = self._delivered
        message = delivered.get(delivery_tag) if delivered is not None else None
        return message if message is not None and self._leased(message, delivery_tag) else None

    def append(self, message: Any, delivery_tag: str) -> None:
        if self._leased(message, delivery_tag):
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        if self._leased_delivery(delivery_tag) is not None:
            virtual.QoS.ack(self, delivery_tag)
        else:
            super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        message = self._leased_delivery(delivery_tag)
        if message is None:
            super().reject(delivery_tag, requeue)
            return
        if requeue:  # nothing in Redis to restore it from: push it back as it came
            delivery = message.delivery_info
            with self.channel.conn_or_acquire() as client, client.pipeline() as pipe:
                self.channel._do_restore_message(
                    message._raw, delivery["exchange"], delivery["routing_key"], pipe, True
                )
                pipe.execute()
        virtual.QoS.ack(self, delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS
    from_transport_options = (
        *kombu_redis.Channel.from_transport_options,
        LEASES_COVER_JOB_TASKS,
    )
    leases_cover_job_tasks = False

    def _disconnect_pools(self) -> None:
        # The stubs leave out the pool attributes and this method.
        pool = self._pool  # type: ignore[has-type]
        super()._disconnect_pools()  # type: ignore[misc]
        self._pool = pool  # disconnected; acks and restores reconnect through it

    def close(self) -> None:
        detached = self.connection is None or self.connection.client is None
        if detached and self._qos is not None:
            self._qos.restore_at_shutdown = False
        super().close()


class Transport(kombu_redis.Transport):
    Channel = Channel


TRANSPORT = f"{__name__}:Transport"


def use_for_workers(app: Celery, settings: Settings) -> None:
    """A worker's broker transport: this one for a Redis broker (it survives a broker restart),
    with job tasks tracked by their leases where the broker is the job store's Redis."""
    if not settings.celery_broker_url.startswith(("redis://", "rediss://", "unix://")):
        return
    app.conf.broker_transport = TRANSPORT
    if settings.broker_is_store:
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            LEASES_COVER_JOB_TASKS: True,
        }
