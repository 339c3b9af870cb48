"""The provider catalogue with live health: circuit states, recent error rate and latency."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from gateway.jobs import Gateway
from shared.errors import ProviderError, ProviderNotFound
from workers.providers.registry import build_provider

router = APIRouter(prefix="/api/v1/llm/providers", tags=["providers"])

UPSTREAM_TIMEOUT_S = 5.0


@router.get("", summary="Providers with health, circuit state, error rate and latency")
async def list_providers(gateway: GatewayDep, _: PrincipalDep) -> dict[str, Any]:
    names = list(gateway.settings.providers)
    reports = await asyncio.gather(*(provider_report(gateway, name) for name in names))
    return {"object": "list", "data": reports}


@router.get("/{provider}/models", summary="Configured models, and the provider's own list")
async def provider_models(provider: str, gateway: GatewayDep, _: PrincipalDep) -> dict[str, Any]:
    config = gateway.settings.providers.get(provider)
    if config is None:
        raise ProviderNotFound(f"no provider {provider!r}; GET /api/v1/llm/providers lists them")
    upstream, error = await _upstream_models(gateway, provider)
    return {
        "provider": provider,
        "configured": configured_models(gateway, provider),
        "upstream": upstream,
        "upstream_error": error,
    }


def configured_models(gateway: Gateway, provider: str) -> list[str]:
    """The upstream models the config names for this provider, in its routes or its list."""
    settings = gateway.settings
    named = list(settings.providers[provider].models)
    for model in settings.models.values():
        named += [step.model for step in model.route if step.provider == provider]
    return list(dict.fromkeys(named))


async def provider_report(gateway: Gateway, name: str) -> dict[str, Any]:
    config = gateway.settings.providers[name]
    models = configured_models(gateway, name)
    states = await gateway.health.states([(name, model) for model in models])
    recent = await gateway.health.recent(name)
    if not config.enabled:
        health = "disabled"
    elif states and all(state == "open" for state in states):
        health = "down"
    elif "open" in states or "half_open" in states:
        health = "degraded"
    else:
        health = "healthy"
    return {
        "name": name,
        "kind": config.kind,
        "enabled": config.enabled,
        "health": health,
        "circuits": [{"model": m, "state": s} for m, s in zip(models, states, strict=True)],
        "recent": recent.to_dict(),
    }


async def _upstream_models(gateway: Gateway, provider: str) -> tuple[list[str] | None, str | None]:
    """The provider's /models, cached; (None, reason) when it cannot be reached."""
    key = gateway.settings.keys.provider_models(provider)
    cached = await gateway.redis.get(key)
    if cached is not None:
        return orjson.loads(cached), None
    config = gateway.settings.providers[provider]
    if not config.enabled:
        return None, "the provider's key is not configured"
    adapter = build_provider(provider, config)
    try:
        async with asyncio.timeout(UPSTREAM_TIMEOUT_S):
            models = await adapter.list_models()
    except (ProviderError, TimeoutError) as exc:
        return None, getattr(exc, "message", "the provider did not answer in time")
    finally:
        await adapter.aclose()
    await gateway.redis.set(key, orjson.dumps(models), ex=gateway.settings.keys.models_cache_ttl_s)
    return models, None
