"""Listing each provider's own ``/models`` for the catalogue: a worker holds the adapters, so
the gateway reads the lists from Redis and never calls a provider itself."""

from __future__ import annotations

import asyncio
import logging

from shared.errors import ProviderError
from shared.provider_catalog import ProviderCatalog, UpstreamModels
from workers.providers.registry import ProviderPool

log = logging.getLogger(__name__)

LIST_TIMEOUT_S = 5.0


async def list_upstream_models(
    catalog: ProviderCatalog, providers: ProviderPool, worker_id: str
) -> None:
    """List the models of every enabled provider no other worker is listing this round."""
    for name, config in catalog.settings.providers.items():
        if not config.enabled or not await catalog.should_refresh(name, worker_id):
            continue
        try:
            async with asyncio.timeout(LIST_TIMEOUT_S):
                listed = UpstreamModels(models=await providers.get(name).list_models())
        except ProviderError as exc:
            listed = UpstreamModels(error=exc.message)
        except TimeoutError:
            listed = UpstreamModels(error="the provider did not answer in time")
        await catalog.store_upstream(name, listed)


async def keep_listing(catalog: ProviderCatalog, providers: ProviderPool, worker_id: str) -> None:
    """List the providers' models now and then within every cache lifetime, until cancelled."""
    interval_s = max(1, catalog.keys.models_cache_ttl_s // 2)
    while True:
        try:
            await list_upstream_models(catalog, providers, worker_id)
        except Exception:
            log.warning("listing the providers' models failed; retrying", exc_info=True)
        await asyncio.sleep(interval_s)
