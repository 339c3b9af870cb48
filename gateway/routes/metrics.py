"""Prometheus scrape endpoint on the API port: the metrics key or the admin key, unless the
settings make it public (``metrics_listen`` serves it keyless on an address of its own)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.auth import credential_from
from gateway.deps import GatewayDep
from gateway.scrape import refresh
from shared.errors import Forbidden, Unauthorized

router = APIRouter(tags=["system"])


async def scraper(request: Request, gateway: GatewayDep) -> None:
    """Refuses a caller without the metrics key or the admin key (when /metrics is not public)."""
    settings = gateway.settings
    if settings.metrics_public or not settings.auth_enabled:
        return
    credential = credential_from(request.headers)
    if credential is None:
        raise Unauthorized("/metrics needs the metrics key (or the admin key)")
    accepted = [k.get_secret_value() for k in (settings.metrics_key, settings.admin_key) if k]
    if not any(hmac.compare_digest(credential, key) for key in accepted):
        raise Forbidden("this key may not read /metrics")


@router.get("/metrics", summary="Prometheus metrics of this gateway process")
async def metrics(gateway: GatewayDep, _: Annotated[None, Depends(scraper)]) -> Response:
    await refresh(gateway, gateway.metrics)
    return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
