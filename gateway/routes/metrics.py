"""Prometheus scrape endpoint (no key, like liveness: it holds counts, not content)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.deps import GatewayDep
from gateway.openapi import KEYLESS
from gateway.scrape import refresh

router = APIRouter(tags=["system"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this gateway process",
    openapi_extra={"security": KEYLESS},
)
async def metrics(gateway: GatewayDep) -> Response:
    await refresh(gateway, gateway.metrics)
    return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
