"""Health and the model catalogue."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from gateway.jobs import Gateway
from gateway.responses import JSON
from gateway.routes.providers import provider_report

router = APIRouter(prefix="/api/v1", tags=["system"])

CHECK_TIMEOUT_S = 2.0


@router.get("/health/live", summary="Liveness: the process answers")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", summary="Readiness for probes: 200 or 503, no details, no key")
async def ready(gateway: GatewayDep) -> JSON:
    checks = await asyncio.gather(
        _check_redis(gateway), _check_broker(gateway), _check_workers(gateway)
    )
    ok = gateway.hub.healthy and all(check["ok"] for check in checks)
    return JSON({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)


@router.get("/health", summary="Gateway, Redis, broker, workers and providers, in detail")
async def health(gateway: GatewayDep, _: PrincipalDep) -> JSON:
    redis_check, broker_check, workers_check = await asyncio.gather(
        _check_redis(gateway), _check_broker(gateway), _check_workers(gateway)
    )
    checks = {
        "gateway": {"ok": gateway.hub.healthy, "event_hub": gateway.hub.healthy},
        "redis": redis_check,
        "broker": broker_check,
        "workers": workers_check,
    }
    ok = all(check["ok"] for check in checks.values())
    # Upstream providers are reported, not required: one provider down must not take every
    # gateway replica out of its load balancer.
    providers = await _provider_health(gateway) if redis_check["ok"] else {}
    return JSON(
        {"status": "ok" if ok else "degraded", "checks": checks, "providers": providers},
        status_code=200 if ok else 503,
    )


@router.get("/llm/models", summary="The models this gateway serves")
async def models(gateway: GatewayDep, _: PrincipalDep) -> dict[str, Any]:
    settings = gateway.settings
    enabled = set(settings.enabled_models())
    return {
        "object": "list",
        "data": [
            {
                "id": name,
                "description": model.description,
                "route": [step.model_dump() for step in model.route],
                "available": name in enabled,
            }
            for name, model in settings.models.items()
        ],
    }


async def _provider_health(gateway: Gateway) -> dict[str, str]:
    reports = await asyncio.gather(
        *(provider_report(gateway, name) for name in gateway.settings.providers)
    )
    return {report["name"]: report["health"] for report in reports}


async def _check_redis(gateway: Gateway) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await gateway.redis.ping()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def _check_broker(gateway: Gateway) -> dict[str, Any]:
    if gateway.settings.celery_broker_url == gateway.settings.redis_url:
        return {**await _check_redis(gateway), "shared_with_redis": True}

    def connect() -> None:
        with gateway.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=int(CHECK_TIMEOUT_S))

    try:
        await asyncio.to_thread(connect)
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


async def _check_workers(gateway: Gateway) -> dict[str, Any]:
    try:
        workers = await gateway.store.live_workers(gateway.settings.interactive_queue)
    except Exception as exc:
        return {"ok": False, "live": 0, "error": type(exc).__name__}
    return {
        "ok": bool(workers),
        "queue": gateway.settings.interactive_queue,
        "live": len(workers),
        "ids": workers,
    }
