"""Provider health in Redis, shared by every worker and gateway: circuit breakers per (provider,
model) and per-minute counters per provider."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from redis.asyncio import Redis

from shared.config import CircuitConfig
from shared.keys import RedisKeys
from shared.lua import lua_source

STATS_WINDOW_MINUTES = 5


class CircuitState(StrEnum):
    """A circuit breaker's state, as ``circuit.lua`` keeps it."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"  # one probe request is out


class CircuitOp(StrEnum):
    """What ``circuit.lua`` is asked to do."""

    ALLOW = "allow"
    FAILURE = "failure"
    SUCCESS = "success"


class Permission(StrEnum):
    """Whether a (provider, model) may be tried now."""

    CLOSED = "closed"  # go ahead
    PROBE = "probe"  # go ahead, as the one trial after a pause
    OPEN = "open"  # skip it


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
        self._not_closed: dict[str, CircuitState] | None = None
        self._pending: dict[tuple[str, int], dict[str, float]] = {}
        self._script = redis.register_script(lua_source("circuit.lua"))

    async def load_scripts(self) -> None:
        self._script.sha = await self.redis.script_load(self._script.script)

    async def permission(self, provider: str, model: str) -> Permission:
        """closed: go ahead; probe: go ahead, as the one trial after a pause; open: skip it."""
        name = self.keys.circuit_name(provider, model)
        if self._not_closed is not None and name not in self._not_closed:
            return Permission.CLOSED
        return Permission(await self._circuit(CircuitOp.ALLOW, provider, model))

    def note_change(self, message: bytes) -> None:
        """Apply a ``provider|model=state`` message from the circuit channel."""
        name, _, state = message.decode().rpartition("=")
        self._note(name, CircuitState(state))

    async def sync_view(self) -> None:
        """Start keeping the local view: call once subscribed to the circuit channel, so no
        change falls between the scan and the messages."""
        self._not_closed = {}
        async for key in self.redis.scan_iter(match=self.keys.circuit_pattern, count=500):
            name = self.keys.circuit_name_of(key.decode())
            if name is not None:  # the state hash, not its failures set
                state = cast("bytes | None", await self.redis.hget(key, "state"))
                self._note(name, CircuitState(state.decode()) if state else CircuitState.CLOSED)

    def forget_view(self) -> None:
        """The change messages may be missed from now on: ask Redis every time."""
        self._not_closed = None

    def _note(self, name: str, state: CircuitState) -> None:
        if self._not_closed is None:
            return
        if state is CircuitState.CLOSED:
            self._not_closed.pop(name, None)
        else:
            self._not_closed[name] = state

    async def record(
        self, provider: str, model: str, *, ok: bool, ttft_s: float | None = None
    ) -> None:
        """Report an attempt's outcome to the circuit at once (a success on a circuit known to
        be closed changes nothing); the counters go out with the next ``flush_stats``."""
        name = self.keys.circuit_name(provider, model)
        if not ok or self._not_closed is None or name in self._not_closed:
            await self._circuit(CircuitOp.SUCCESS if ok else CircuitOp.FAILURE, provider, model)
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

    async def states(self, pairs: list[tuple[str, str]]) -> list[CircuitState]:
        """The circuit state of each (provider, model)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for provider, model in pairs:
                pipe.hget(self.keys.circuit(provider, model)[0], "state")
            replies = await pipe.execute()
        return [CircuitState(reply.decode()) if reply else CircuitState.CLOSED for reply in replies]

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

    async def _circuit(self, op: CircuitOp, provider: str, model: str) -> str:
        c = self.circuit
        name = self.keys.circuit_name(provider, model)
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
        answer = reply.decode()
        if op is CircuitOp.ALLOW:  # a permission: only "closed" says the circuit is closed
            closed = answer == Permission.CLOSED
            self._note(name, CircuitState.CLOSED if closed else CircuitState.OPEN)
        else:
            self._note(name, CircuitState(answer))
        return answer
