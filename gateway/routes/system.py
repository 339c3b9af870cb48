"""Health and the model catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from gateway.health import health_report
from gateway.openapi import KEYLESS
from gateway.responses import JSON
from shared.capabilities import capabilities_of
from shared.config import RouteStep
from shared.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["system"])

CHECK_TIMEOUT_S = 2.0


@router.get(
    "/health/live", summary="Liveness: the process answers", openapi_extra={"security": KEYLESS}
)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Readiness for probes: 200 or 503, no details, no key",
    openapi_extra={"security": KEYLESS},
)
async def ready(gateway: GatewayDep) -> JSON:
    ok = (await health_report(gateway, with_providers=False))["ok"]
    return JSON({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)


@router.get("/health", summary="Gateway, Redis, broker, workers and providers, in detail")
async def health(gateway: GatewayDep, _: PrincipalDep) -> JSON:
    report = await health_report(gateway)
    ok = report.pop("ok")
    return JSON({"status": "ok" if ok else "degraded", **report}, status_code=200 if ok else 503)


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
                "route": [
                    {**step.model_dump(), "capabilities": step_capabilities(settings, step)}
                    for step in model.route
                ],
                "available": name in enabled,
            }
            for name, model in settings.models.items()
        ],
    }


def step_capabilities(settings: Settings, step: RouteStep) -> list[str]:
    """What the step takes: its own list, else its provider model's."""
    found = step.capabilities or capabilities_of(settings.providers[step.provider], step.model)
    return sorted(found)
