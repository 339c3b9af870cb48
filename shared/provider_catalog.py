"""The provider catalogue with live health, for the gateway and the workers alike.

The gateway reports each provider's configured models, circuit states and recent figures; the
upstream ``/models`` lists are fetched by workers (which hold the adapters) and kept in Redis,
so the gateway never calls a provider itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from shared.keys import RedisKeys
from shared.provider_health import CircuitState, ProviderHealth
from shared.settings import Settings


class ProviderStatus(StrEnum):
    """A provider's health in one word, from its circuits."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"  # some of its models' circuits are open or probing
    DOWN = "down"  # every circuit is open
    DISABLED = "disabled"  # its key is not configured

    @classmethod
    def of(cls, enabled: bool, states: list[CircuitState]) -> ProviderStatus:
        if not enabled:
            return cls.DISABLED
        if states and all(state is CircuitState.OPEN for state in states):
            return cls.DOWN
        if any(state is not CircuitState.CLOSED for state in states):
            return cls.DEGRADED
        return cls.HEALTHY


class UpstreamModels(BaseModel):
    """A provider's own ``/models`` list as a worker last fetched it, or why it could not."""

    models: list[str] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderCatalog:
    settings: Settings
    health: ProviderHealth
    redis: Redis

    @property
    def keys(self) -> RedisKeys:
        return self.settings.keys

    def configured_models(self, provider: str) -> list[str]:
        """The upstream models the config names for this provider, in its routes or its list."""
        named = list(self.settings.providers[provider].models)
        for model in self.settings.models.values():
            named += [step.model for step in model.route if step.provider == provider]
        return list(dict.fromkeys(named))

    async def report(self, name: str) -> dict[str, Any]:
        """One provider: its kind, health, circuits and recent figures."""
        config = self.settings.providers[name]
        models = self.configured_models(name)
        states = await self.health.states([(name, model) for model in models])
        recent = await self.health.recent(name)
        return {
            "name": name,
            "kind": config.kind,
            "enabled": config.enabled,
            "health": ProviderStatus.of(config.enabled, states).value,
            "circuits": [
                {"model": m, "state": s.value} for m, s in zip(models, states, strict=True)
            ],
            "recent": recent.to_dict(),
        }

    async def upstream_models(self, provider: str) -> UpstreamModels:
        """What the provider's ``/models`` listed when a worker last asked."""
        if not self.settings.providers[provider].enabled:
            return UpstreamModels(error="the provider's key is not configured")
        stored = await self.redis.get(self.keys.provider_models(provider))
        if stored is None:
            refresh_s = self.keys.models_cache_ttl_s // 2
            return UpstreamModels(error=f"not listed yet; workers list it every {refresh_s} s")
        return UpstreamModels.model_validate_json(stored)

    async def should_refresh(self, provider: str, worker_id: str) -> bool:
        """True for the one worker that lists this provider's models now (the others skip)."""
        taken = await self.redis.set(
            self.keys.provider_models_refresh(provider),
            worker_id,
            nx=True,
            ex=max(1, self.keys.models_cache_ttl_s // 2),
        )
        return bool(taken)

    async def store_upstream(self, provider: str, listed: UpstreamModels) -> None:
        await self.redis.set(
            self.keys.provider_models(provider),
            listed.model_dump_json(),
            ex=self.keys.models_cache_ttl_s,
        )
