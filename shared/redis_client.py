"""The one way both sides open Redis: a pool that makes a burst wait for a connection instead
of failing (redis-py's default pool raises "Too many connections" at once)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from shared.settings import Settings


def connect_redis(settings: Settings) -> Redis:
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
    )
    return Redis(connection_pool=pool)
