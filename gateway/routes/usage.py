"""Usage and cost reports: admins see every key, a key sees its own."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from shared.accounting import GroupBy, utc_day
from shared.errors import InvalidRequest

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])

GROUPS = ("key", "model", "provider", "day")
MAX_DAYS = 400


@router.get("", summary="Token usage and cost, filtered and grouped")
async def usage(
    gateway: GatewayDep,
    caller: PrincipalDep,
    since: Annotated[date | None, Query(alias="from", description="first UTC day")] = None,
    until: Annotated[date | None, Query(alias="to", description="last UTC day")] = None,
    key: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    group_by: Annotated[str, Query(description="comma list of key, model, provider, day")] = "key",
) -> dict[str, Any]:
    today = utc_day(time.time())
    until = until or today
    since = since or until - timedelta(days=30)
    groups = [g.strip() for g in group_by.split(",") if g.strip()]
    if any(g not in GROUPS for g in groups) or not groups:
        raise InvalidRequest(f"group_by takes {', '.join(GROUPS)}")
    if since > until or (until - since).days > MAX_DAYS:
        raise InvalidRequest(f"from must be before to, at most {MAX_DAYS} days apart")
    if not caller.is_admin:
        key = caller.key_id  # a key reads only its own usage
    rows = await gateway.accounting.report(
        since=since,
        until=until,
        key=key,
        model=model,
        provider=provider,
        group_by=cast("list[GroupBy]", groups),
    )
    return {"from": since.isoformat(), "to": until.isoformat(), "group_by": groups, "data": rows}
