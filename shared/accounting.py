"""Usage and spend per key, model, provider and day, kept in Redis by every worker.

One hash per day holds the sums, its fields named ``key|model|provider|metric``; each key's
spend per day and per month is a counter of its own, so a budget check is one read.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast

import orjson
from redis.asyncio import Redis

from shared.apikeys import KeyRecord
from shared.auto_pipeline import AutoPipeline
from shared.errors import BudgetExceeded
from shared.keys import RedisKeys
from shared.lua import lua_source
from shared.usage import Usage

GroupBy = Literal["key", "model", "provider", "day"]
METRICS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "estimated_requests",
    # Jobs that ended without succeeding (error, cancelled, abandoned, deadline, worker lost)
    # but had reached a provider: their tokens are in the sums above.
    "incomplete_requests",
    "cost_usd",
    # Answered from the cache, or by joining an identical request in flight: no provider
    # tokens, and what they would have cost.
    "cache_hits",
    "coalesced_requests",
    "saved_tokens",
    "saved_cost_usd",
)
# Usage rows of requests no provider served are filed under this provider name.
CACHE_PROVIDER = "cache"
USAGE_TTL_S = 400 * 86_400


def utc_day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


def period_id(period: Literal["day", "month"], day: date) -> str:
    return day.isoformat() if period == "day" else day.strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class Charge:
    """One ended job's usage as the sums take it, applied by the script that stores the job's
    last event (``append_event.lua``), so the job's end and its charge are one step."""

    day_key: str
    prefix: str
    values: dict[str, float]
    spend_keys: tuple[str, ...]
    cost: float | None

    def as_json(self) -> bytes:
        """The form the append script reads (numbers as text: no float reformatting)."""
        body: dict[str, Any] = {
            "day": self.day_key,
            "prefix": self.prefix,
            "values": {m: repr(v) for m, v in self.values.items() if v},
            "spend": list(self.spend_keys),
            "ttl": USAGE_TTL_S,
        }
        if self.cost:
            body["cost"] = repr(self.cost)
        return orjson.dumps(body)


class Accounting:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        # Charges of the requests of one loop turn (cache hits, say) go as one pipeline.
        self._charge = AutoPipeline(redis).script(lua_source("charge_usage.lua"))

    def charge(
        self,
        *,
        owner: str,
        model: str,
        provider: str,
        usage: Usage,
        cost: float | None,
        succeeded: bool = True,
    ) -> Charge:
        """What one ended job adds to the day's sums and to its key's spend."""
        day = utc_day(time.time())
        values = {
            "requests": 1.0,
            "prompt_tokens": float(usage.prompt_tokens),
            "completion_tokens": float(usage.completion_tokens),
            "cached_tokens": float(usage.cached_tokens),
            "cache_write_tokens": float(usage.cache_write_tokens),
            "reasoning_tokens": float(usage.reasoning_tokens),
            "estimated_requests": float(usage.estimated),
            "incomplete_requests": float(not succeeded),
            "cost_usd": cost or 0.0,
        }
        return Charge(
            day_key=self.keys.usage_day(day.isoformat()),
            prefix=f"{owner}|{model}|{provider}|",
            values=values,
            spend_keys=tuple(self.keys.spend(owner, period_id(p, day)) for p in ("day", "month")),
            cost=cost,
        )

    async def record_saved(
        self, *, owner: str, model: str, usage: Usage, cost: float | None, coalesced: bool
    ) -> None:
        """Count a request answered without a provider call of its own: a cache hit, or a
        request that joined an identical one (``coalesced``)."""
        values = {
            "requests": 1.0,
            "coalesced_requests" if coalesced else "cache_hits": 1.0,
            "saved_tokens": float(usage.total_tokens),
            "saved_cost_usd": cost or 0.0,
        }
        charge = Charge(
            day_key=self.keys.usage_day(utc_day(time.time()).isoformat()),
            prefix=f"{owner}|{model}|{CACHE_PROVIDER}|",
            values=values,
            spend_keys=(),
            cost=None,
        )
        await self._charge(args=[charge.as_json()])

    async def check_budget(self, key: KeyRecord) -> dict[str, str]:
        """Refuse (BudgetExceeded) once the key has spent its budget; else the headers that
        say what is left, with a warning from the soft limit on. A stream already running
        when the budget is crossed finishes (its cost is counted)."""
        budget = key.budget
        if budget is None:
            return {}
        spent = await self.spent(key.id, budget.period)
        if spent >= budget.limit_usd:
            raise BudgetExceeded(
                f"the API key has spent its {budget.period}ly budget of {budget.limit_usd} USD",
                details={"spent_usd": round(spent, 6), "limit_usd": budget.limit_usd},
            )
        headers = {"x-budget-remaining-usd": f"{budget.limit_usd - spent:.6f}"}
        if spent >= budget.warn_at_fraction * budget.limit_usd:
            headers["x-budget-warning"] = (
                f"spent {spent:.4f} of {budget.limit_usd} USD this {budget.period}"
            )
        return headers

    async def spent(self, owner: str, period: Literal["day", "month"]) -> float:
        value = await self.redis.get(
            self.keys.spend(owner, period_id(period, utc_day(time.time())))
        )
        return float(cast("bytes", value)) if value else 0.0

    async def report(
        self,
        *,
        since: date,
        until: date,
        key: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        group_by: list[GroupBy],
    ) -> list[dict[str, Any]]:
        """Sums over the days ``since``..``until`` (inclusive), filtered and grouped."""
        days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self.keys.usage_day(day.isoformat()))
            replies: list[dict[bytes, bytes]] = await pipe.execute()
        groups: dict[tuple[str, ...], dict[str, float]] = defaultdict(
            lambda: dict.fromkeys(METRICS, 0.0)
        )
        for day, fields in zip(days, replies, strict=True):
            for field, value in fields.items():
                owner, model_name, provider_name, metric = field.decode().split("|")
                row = {"key": owner, "model": model_name, "provider": provider_name}
                if (key and owner != key) or (model and model_name != model):
                    continue
                if provider and provider_name != provider:
                    continue
                label = {**row, "day": day.isoformat()}
                groups[tuple(label[g] for g in group_by)][metric] += float(value)
        return [
            {
                **dict(zip(group_by, labels, strict=True)),
                **{
                    m: (round(v, 10) if m.endswith("cost_usd") else int(v)) for m, v in sums.items()
                },
            }
            for labels, sums in sorted(groups.items())
        ]
