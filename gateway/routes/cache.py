"""Admin: drop cached answers: every one, a namespace's (``global`` or ``key:<key id>``), or a
single entry, named as the ``X-Cache-Key`` response header shows it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gateway.auth import AdminDep
from gateway.deps import GatewayDep

router = APIRouter(prefix="/api/v1/admin/cache", tags=["admin"])

Namespace = Annotated[
    str, Path(pattern=r"^(global|key:[A-Za-z0-9_-]{1,64})$", description="global or key:<id>")
]
Entry = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the request's digest")]


@router.delete("", summary="Drop every cached answer")
async def drop_all(gateway: GatewayDep, _: AdminDep) -> dict[str, int]:
    return {"dropped": await gateway.cache.invalidate()}


@router.delete("/{namespace}", summary="Drop a namespace's cached answers")
async def drop_namespace(namespace: Namespace, gateway: GatewayDep, _: AdminDep) -> dict[str, int]:
    return {"dropped": await gateway.cache.invalidate(namespace)}


@router.delete("/{namespace}/{entry}", summary="Drop one cached answer")
async def drop_entry(
    namespace: Namespace, entry: Entry, gateway: GatewayDep, _: AdminDep
) -> dict[str, int]:
    return {"dropped": await gateway.cache.invalidate(namespace, entry)}
