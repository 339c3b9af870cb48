"""Provider health in Redis, shared by every worker and gateway: circuit breakers per (provider,
model) and per-minute counters per provider."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis

from shared.config import CircuitConfig
from shared.keys import RedisKeys
from shared.lua import lua_source

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
    """Whether a provider may be tried now, and how it has been doing.

    A worker keeps a local view of the circuits that are not closed, kept current by the change
    messages every state change publishes, so the common case (closed) costs no round trip.
    Without a view (not subscribed, or the subscription was lost) every check asks Redis.
    """

    def __init__(self, redis: Redis, keys: RedisKeys, circuit: CircuitConfig) -> None:
        self.redis = redis
        self.keys = keys
        self.circuit = circuit
        self._not_closed: dict[str, str] | None = None
        self._pending: dict[tuple[str, int], dict[str, float]] = {}
        self._script = redis.register_script(lua_source("circuit.lua"))

    async def load_scripts(self) -> None:
        self._script.sha = await self.redis.script_load(self._script.script)

    async def permission(self, provider: str, model: str) -> Permission:
        """closed: go ahead; probe: go ahead, as the one trial after a pause; open: skip it."""
        if self._not_closed is not None and _name(provider, model) not in self._not_closed:
            return "closed"
        return cast(Permission, (await self._circuit("allow", provider, model)).decode())

    def note_change(self, message: bytes) -> None:
        """Apply a ``provider|model=state`` message from the circuit channel."""
        name, _, state = message.decode().rpartition("=")
        self._note(name, state)

    async def sync_view(self) -> None:
        """Start keeping the local view: call once subscribed to the circuit channel, so no
        change falls between the scan and the messages."""
        self._not_closed = {}
        async for key in self.redis.scan_iter(match=f"{self.keys.prefix}:circuit:*", count=500):
            if key.endswith(b"}"):  # the state hash, not its failures set
                state = cast("bytes | None", await self.redis.hget(key, "state"))
                name = key[key.index(b"{") + 1 : -1].decode()
                self._note(name, state.decode() if state else "closed")

    def forget_view(self) -> None:
        """The change messages may be missed from now on: ask Redis every time."""
        self._not_closed = None

    def _note(self, name: str, state: str) -> None:
        if self._not_closed is None:
            return
        if state == "closed":
            self._not_closed.pop(name, None)
        else:
            self._not_closed[name] = state

    async def record(
        self, provider: str, model: str, *, ok: bool, ttft_s: float | None = None
    ) -> None:
        """Report an attempt's outcome to the circuit at once (a success on a circuit known to
        be closed changes nothing); the counters go out with the next ``flush_stats``."""
        if not ok or self._not_closed is None or _name(provider, model) in self._not_closed:
            await self._circuit("success" if ok else "failure", provider, model)
        counters = self._pending.setdefault((provider, int(time.time() // 60)), {})
        counters["requests"] = counters.get("requests", 0) + 1
        if not ok:
            counters["failures"] = counters.get("failures", 0) + 1
        if ttft_s is not None:
            counters["ttft_ms_sum"] = counters.get("ttft_ms_sum", 0) + ttft_s * 1000
            counters["ttft_count"] = counters.get("ttft_count", 0) + 1

    async def flush_stats(self) -> None:
        """Add this process's counters to the shared per-minute ones (one round trip)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for (provider, minute), counters in pending.items():
                key = self.keys.provider_stats(provider, minute)
                for field, value in counters.items():
                    pipe.hincrbyfloat(key, field, value)
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
        name = _name(provider, model)
        reply = cast(
            bytes,
            await self._script(
                keys=list(self.keys.circuit(provider, model)),
                args=[
                    op,
                    c.failure_threshold,
                    c.window_s,
                    c.open_s,
                    c.probe_timeout_s,
                    self.keys.circuit_channel,
                    name,
                ],
            ),
        )
        state = reply.decode()
        self._note(name, state if op != "allow" else ("closed" if state == "closed" else "open"))
        return reply


def _name(provider: str, model: str) -> str:
    return f"{provider}|{model}"
