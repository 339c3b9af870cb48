"""The gateway's health: Redis, the broker, live workers and providers, for every front end."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.jobs import Gateway
from shared.consumers import ConsumerRegistry
from shared.heartbeats import WorkerHeartbeats

CHECK_TIMEOUT_S = 2.0


async def health_report(gateway: Gateway, *, with_providers: bool = True) -> dict[str, Any]:
    """``ok`` when the gateway can take jobs; providers are reported, never required (one
    provider down must not take every gateway replica out of its load balancer)."""
    redis_check, broker_check, workers_check = await asyncio.gather(
        check_redis(gateway), check_broker(gateway), check_workers(gateway)
    )
    checks = {
        "gateway": {"ok": gateway.hub.healthy, "event_hub": gateway.hub.healthy},
        "redis": redis_check,
        "broker": broker_check,
        "workers": workers_check,
    }
    report: dict[str, Any] = {
        "ok": all(check["ok"] for check in checks.values()),
        "checks": checks,
    }
    if with_providers:
        report["providers"] = await provider_health(gateway) if redis_check["ok"] else {}
    return report


async def provider_health(gateway: Gateway) -> dict[str, str]:
    reports = await asyncio.gather(
        *(gateway.catalog.report(name) for name in gateway.settings.providers)
    )
    return {report["name"]: report["health"] for report in reports}


async def check_redis(gateway: Gateway) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await gateway.redis.ping()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def check_broker(gateway: Gateway) -> dict[str, Any]:
    if gateway.settings.broker_is_store:
        return {**await check_redis(gateway), "shared_with_redis": True}

    def connect() -> None:
        with gateway.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=int(CHECK_TIMEOUT_S))

    try:
        await asyncio.to_thread(connect)
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


async def check_workers(gateway: Gateway) -> dict[str, Any]:
    """Live workers consuming the interactive queue; a worker alive whose consumer stopped
    polling it does not count, and is listed as ``stalled``."""
    queue = gateway.settings.interactive_queue
    try:
        heartbeats = WorkerHeartbeats(gateway.redis, gateway.settings.keys)
        workers = await heartbeats.live(queue)
        stalled = await ConsumerRegistry(heartbeats).stalled(queue)
    except Exception as exc:
        return {"ok": False, "live": 0, "error": type(exc).__name__}
    return {
        "ok": bool(workers),
        "queue": queue,
        "live": len(workers),
        "ids": workers,
        "stalled": stalled,
    }
