"""kombu's Redis transport, with one fix: a worker survives its broker going away with tasks in
flight (installed kombu 5.7.0 with Celery 5.7.0; no released version has it).

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

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
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
