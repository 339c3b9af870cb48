"""The provider catalogue with live health: circuit states, recent error rate and latency."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from shared.errors import ProviderNotFound

router = APIRouter(prefix="/api/v1/llm/providers", tags=["providers"])


@router.get("", summary="Providers with health, circuit state, error rate and latency")
async def list_providers(gateway: GatewayDep, _: PrincipalDep) -> dict[str, Any]:
    catalog = gateway.catalog
    reports = await asyncio.gather(*(catalog.report(name) for name in gateway.settings.providers))
    return {"object": "list", "data": reports}


@router.get("/{provider}/models", summary="Configured models, and the provider's own list")
async def provider_models(provider: str, gateway: GatewayDep, _: PrincipalDep) -> dict[str, Any]:
    if provider not in gateway.settings.providers:
        raise ProviderNotFound(f"no provider {provider!r}; GET /api/v1/llm/providers lists them")
    upstream = await gateway.catalog.upstream_models(provider)
    return {
        "provider": provider,
        "configured": gateway.catalog.configured_models(provider),
        "upstream": upstream.models,
        "upstream_error": upstream.error,
    }
