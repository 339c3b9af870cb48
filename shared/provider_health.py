"""Provider health in Redis, shared by every worker and gateway: circuit breakers per (provider,
model) and per-minute counters per provider."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

from redis.asyncio import Redis

from shared.config import CircuitConfig
from shared.keys import RedisKeys

Permission = Literal["closed", "probe", "open"]
STATS_WINDOW_MINUTES = 5


@dataclass(frozen=True, slots=True)
class RecentStats:
    """A provider's last few minutes, as every worker recorded them."""

    requests: int
    failures: int
    avg_ttft_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_minutes": STATS_WINDOW_MINUTES,
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": None if self.error_rate is None else round(self.error_rate, 4),
            "avg_time_to_first_token_ms": self.avg_ttft_ms,
        }


class ProviderHealth:
    """Whether a provider may be tried now, and how it has been doing."""

    def __init__(self, redis: Redis, keys: RedisKeys, circuit: CircuitConfig) -> None:
        self.redis = redis
        self.keys = keys
        self.circuit = circuit
        source = resources.files("shared").joinpath("lua", "circuit.lua").read_text()
        self._script = redis.register_script(source)

    async def load_scripts(self) -> None:
        self._script.sha = await self.redis.script_load(self._script.script)

    async def permission(self, provider: str, model: str) -> Permission:
        """closed: go ahead; probe: go ahead, as the one trial after a pause; open: skip it."""
        return cast(Permission, (await self._circuit("allow", provider, model)).decode())

    async def record(
        self, provider: str, model: str, *, ok: bool, ttft_s: float | None = None
    ) -> None:
        """Report an attempt's outcome: to the circuit, and to the provider's counters."""
        await self._circuit("success" if ok else "failure", provider, model)
        key = self.keys.provider_stats(provider, int(time.time() // 60))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, "requests", 1)
            if not ok:
                pipe.hincrby(key, "failures", 1)
            if ttft_s is not None:
                pipe.hincrbyfloat(key, "ttft_ms_sum", ttft_s * 1000)
                pipe.hincrby(key, "ttft_count", 1)
            pipe.expire(key, self.keys.provider_stats_ttl_s)
            await pipe.execute()

    async def states(self, pairs: list[tuple[str, str]]) -> list[str]:
        """The circuit state of each (provider, model): closed, open or half_open."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for provider, model in pairs:
                pipe.hget(self.keys.circuit(provider, model)[0], "state")
            replies = await pipe.execute()
        return [reply.decode() if reply else "closed" for reply in replies]

    async def recent(self, provider: str) -> RecentStats:
        minute = int(time.time() // 60)
        async with self.redis.pipeline(transaction=False) as pipe:
            for back in range(STATS_WINDOW_MINUTES):
                pipe.hgetall(self.keys.provider_stats(provider, minute - back))
            buckets: list[dict[bytes, bytes]] = await pipe.execute()

        def total(field: bytes) -> float:
            return sum(float(bucket.get(field, 0)) for bucket in buckets)

        ttft_count = total(b"ttft_count")
        return RecentStats(
            requests=int(total(b"requests")),
            failures=int(total(b"failures")),
            avg_ttft_ms=round(total(b"ttft_ms_sum") / ttft_count, 2) if ttft_count else None,
        )

    async def _circuit(self, op: str, provider: str, model: str) -> bytes:
        c = self.circuit
        reply = await self._script(
            keys=list(self.keys.circuit(provider, model)),
            args=[op, c.failure_threshold, c.window_s, c.open_s, c.probe_timeout_s],
        )
        return cast(bytes, reply)
