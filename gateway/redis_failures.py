"""Redis failures, as the gateway translates them for every front end (one place).

A lost Redis reaches a client as ``service_unavailable`` (503, retryable): from the HTTP
exception handler, a stream's last frame, GraphQL's error formatter, or authentication before
a GraphQL operation runs. Nothing below those boundaries catches them.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from shared.errors import ServiceUnavailable

# OSError: a connection reset or refused below redis-py's own exceptions.
REDIS_FAILURES: tuple[type[Exception], ...] = (RedisError, OSError)


def lost_redis(message: str = "Redis is not reachable; try again shortly") -> ServiceUnavailable:
    """The error a client sees when the gateway cannot reach Redis."""
    return ServiceUnavailable(message)


def translated(error: BaseException) -> ServiceUnavailable | None:
    """``lost_redis()`` for a Redis failure, None for anything else."""
    return lost_redis() if isinstance(error, REDIS_FAILURES) else None
