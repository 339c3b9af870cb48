"""The gateway's ASGI app, built from the settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from redis.asyncio import Redis

from gateway.errors import install_error_handlers
from gateway.graphql import mount_graphql
from gateway.hub import EventHub
from gateway.jobs import Gateway
from gateway.limits import BodySizeLimit
from gateway.metrics import GatewayMetrics
from gateway.openai import router as openai_router
from gateway.openai_batch import FILES_PATH, NATIVE_PATH
from gateway.openai_batch import router as batch_router
from gateway.routes import admin, cache, complete, jobs, metrics, providers, system, usage
from shared.accounting import Accounting
from shared.apikeys import KeyStore
from shared.cache import ResponseCache
from shared.jobstore import JobStore
from shared.limits import RateLimiter
from shared.provider_health import ProviderHealth
from shared.queue import TaskPublisher, create_celery
from shared.redis_client import connect_redis
from shared.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = connect_redis(settings)
        hub = EventHub(Redis.from_url(settings.redis_url), settings.keys)
        celery = create_celery(settings)
        store = JobStore(redis, settings.keys, events_max_len=settings.events_max_len)
        app.state.gateway = Gateway(
            settings=settings,
            redis=redis,
            store=store,
            hub=hub,
            celery=celery,
            publisher=TaskPublisher.for_settings(celery, settings, redis),
            health=ProviderHealth(redis, settings.keys, settings.circuit),
            api_keys=KeyStore(redis, settings.keys),
            limiter=RateLimiter(redis, settings.keys),
            accounting=Accounting(redis, settings.keys),
            cache=ResponseCache(redis, settings.keys),
            metrics=GatewayMetrics(),
        )
        await hub.start()
        with suppress(Exception):  # Redis may come up later; scripts then load on first use
            await store.load_scripts()
            await app.state.gateway.limiter.load_scripts()
        await app.state.gateway.publisher.warm_up()
        try:
            yield
        finally:
            await hub.stop()
            await redis.aclose()

    app = FastAPI(
        title="llm-gateway",
        version="0.1.0",
        summary="One API over many LLM providers, streamed through a queue.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        # The upload route caps the file as it streams it to storage.
        per_path={FILES_PATH: None, NATIVE_PATH: settings.batch.max_native_body_bytes},
    )
    for module in (complete, jobs, providers, system, admin, cache, usage, metrics):
        app.include_router(module.router)
    app.include_router(openai_router)
    app.include_router(batch_router)
    mount_graphql(app, settings)
    return app
