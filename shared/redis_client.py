"""The one way both sides open Redis: a pool that makes a burst wait for a connection instead
of failing (redis-py's default pool raises "Too many connections" at once).

No socket timeout: with one, redis-py sends every command under ``asyncio.wait_for``, which on
Python 3.11 swallows a cancellation that lands as the write completes (the call returns as if
nothing happened; fixed in 3.12). Cancelling a job, a reader or a race must always work, so
reads are bounded where the gateway needs a bound, and TCP keepalive finds dead peers.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from shared.settings import Settings

HEALTH_CHECK_INTERVAL_S = 30


def connect_redis(settings: Settings) -> Redis:
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
        socket_timeout=None,
        socket_keepalive=True,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
    )
    return Redis(connection_pool=pool)


def connect_pubsub(settings: Settings) -> Redis:
    """A client for one long-lived subscriber connection (the gateway's event hub)."""
    return Redis.from_url(settings.redis_url, socket_timeout=None, socket_keepalive=True)
