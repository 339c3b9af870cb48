"""The gateway's ASGI app, built from the settings: each API mounted with its own errors and
body limits (the OpenAI-compatible API and Anthropic's Messages API at ``/v1``, the native API,
GraphQL and probes beside)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any
from wsgiref.simple_server import WSGIServer

from fastapi import FastAPI
from prometheus_client import start_http_server
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from gateway.anthropic import V1, create_messages_api
from gateway.cors import cors_middleware
from gateway.docs import page_routes
from gateway.errors import NativeErrors, install_error_handlers
from gateway.graphql import mount_graphql
from gateway.hub import EventHub
from gateway.jobs import Gateway
from gateway.key_cache import KeyCache
from gateway.limits import BodySizeLimit
from gateway.metrics import GatewayMetrics
from gateway.observe import NO_FASTAPI_TELEMETRY, Observed
from gateway.openai import PREFIX as OPENAI_PREFIX
from gateway.openai import create_openai_api
from gateway.openai.errors import OpenAIErrors
from gateway.openai_batch import NATIVE_PATH, native_router
from gateway.openai_batch.service import build_batch_api
from gateway.openapi import combined_openapi
from gateway.routes import (
    admin,
    cache,
    complete,
    jobs,
    metrics,
    providers,
    stream_tokens,
    system,
    usage,
)
from gateway.scrape import keep_refreshed
from gateway.stream_tokens import StreamTokens
from shared.accounting import Accounting
from shared.apikeys import KeyStore
from shared.cache import ResponseCache
from shared.errors import NotFound
from shared.gc_tuning import tune_gc
from shared.jobstore import JobStore
from shared.limits import RateLimiter
from shared.provider_catalog import ProviderCatalog
from shared.provider_health import ProviderHealth
from shared.queue import TaskPublisher, create_celery
from shared.redis_client import connect_pubsub, connect_redis
from shared.settings import Settings
from shared.tracing import Tracing

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, tracing: Tracing | None = None, access_log: bool = False
) -> Starlette:
    """``tracing``: the process's tracer (off by default); ``access_log``: a line a request."""
    tracing = tracing or Tracing()
    metrics = GatewayMetrics(key_labels=settings.metrics_key_labels)
    openai_api, openai_app = create_openai_api(settings)
    messages_api, messages_app = create_messages_api(settings)
    native_api, native_app = create_native_api(settings)
    mounted = [(OPENAI_PREFIX, openai_api), (OPENAI_PREFIX, messages_api)]
    native_api.openapi = combined_openapi(native_api, mounted)  # type: ignore[method-assign]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        gateway = build_gateway(
            settings,
            connect_redis(settings),
            connect_pubsub(settings),
            metrics=metrics,
            tracing=tracing,
        )
        await gateway.hub.start()
        with suppress(Exception):  # Redis may come up later; scripts then load on first use
            await gateway.store.load_scripts()
            await gateway.limiter.load_scripts()
        await gateway.publisher.warm_up()
        batch_api = build_batch_api(gateway)
        tune_gc()
        scrape_server = serve_metrics(settings.metrics_listen, gateway.metrics)
        refresher = asyncio.create_task(keep_refreshed(gateway)) if scrape_server else None
        try:
            # Every request of every mounted API finds these in its state.
            yield {"gateway": gateway, "batch_api": batch_api}
        finally:
            if scrape_server is not None:
                scrape_server.shutdown()
            if refresher is not None:
                refresher.cancel()
            await gateway.hub.stop()
            await gateway.redis.aclose()

    async def unrouted(request: Request, exc: Exception) -> Response:
        """A path no mount takes (a mount's pattern stops at a newline): in its API's shape."""
        shape = OpenAIErrors() if request.url.path.startswith(OPENAI_PREFIX) else NativeErrors()
        return shape.routing_response(404, NotFound.code, "Not Found", None)

    return Starlette(
        routes=[
            *page_routes(settings),
            # The OpenAI-compatible API and Anthropic's Messages API share /v1 (V1 says which).
            Mount(OPENAI_PREFIX, app=V1(openai=openai_app, anthropic=messages_app)),
            Mount("", app=native_app),
        ],
        # At the root: preflights of every mounted API are answered before any routing.
        middleware=[
            cors_middleware(settings.cors),
            Middleware(Observed, metrics=metrics, tracing=tracing, access_log=access_log),
        ],
        lifespan=lifespan,
        exception_handlers={404: unrouted},
    )


def create_native_api(settings: Settings) -> tuple[FastAPI, BodySizeLimit]:
    """The native REST API, GraphQL, probes and metrics, in the native error shape."""
    api = FastAPI(
        # Served by gateway.docs with assets of its own instead of FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        title="llm-gateway",
        version="0.1.0",
        summary="One API over many LLM providers, streamed through a queue.",
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    shape = NativeErrors()
    install_error_handlers(api, shape)
    for module in (complete, jobs, stream_tokens, providers, system, admin, cache, usage, metrics):
        api.include_router(module.router)
    api.include_router(native_router)
    mount_graphql(api, settings)
    mounted = BodySizeLimit(
        api,
        max_bytes=settings.max_body_bytes,
        shape=shape,
        per_path={NATIVE_PATH: settings.batch.max_native_body_bytes},
    )
    return api, mounted


def serve_metrics(listen: str | None, metrics: GatewayMetrics) -> WSGIServer | None:
    """A keyless listener serving only the metrics, at ``host:port`` (``metrics_listen``)."""
    if listen is None:
        return None
    host, _, port = listen.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host, registry=metrics.registry)
    return server


def build_gateway(
    settings: Settings,
    redis: Redis,
    pubsub: Redis,
    *,
    metrics: GatewayMetrics | None = None,
    tracing: Tracing | None = None,
) -> Gateway:
    """The resources every request shares, made once per process: ``redis`` for commands,
    ``pubsub`` for the event hub's one subscriber connection."""
    celery = create_celery(settings)
    health = ProviderHealth(redis, settings.keys, settings.circuit)
    api_keys = KeyStore(redis, settings.keys)
    key_cache = KeyCache(api_keys, settings.key_cache_ttl_s)
    hub = EventHub(
        pubsub,
        settings.keys,
        watched={settings.keys.api_key_channel: key_cache.announced},
        on_reconnect=key_cache.clear,
    )
    metrics = metrics or GatewayMetrics(key_labels=settings.metrics_key_labels)
    metrics.watch_subscribers(lambda: hub.subscribers)
    return Gateway(
        settings=settings,
        redis=redis,
        store=JobStore(redis, settings.keys, events_max_len=settings.events_max_len),
        hub=hub,
        celery=celery,
        publisher=TaskPublisher.for_settings(celery, settings, redis),
        api_keys=api_keys,
        key_cache=key_cache,
        limiter=RateLimiter(redis, settings.keys),
        accounting=Accounting(redis, settings.keys),
        cache=ResponseCache(redis, settings.keys),
        metrics=metrics,
        catalog=ProviderCatalog(settings, health, redis),
        stream_tokens=StreamTokens(settings.stream_tokens),
        tracing=tracing or Tracing(),
    )
