"""Admin: client API keys, created, listed, changed and revoked with the admin key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from gateway.auth import AdminDep
from gateway.deps import GatewayDep
from gateway.responses import JSON
from shared.apikeys import KeySettings, KeyUpdate
from shared.errors import NotFound

router = APIRouter(prefix="/api/v1/admin/keys", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a key (shown once)")
async def create_key(settings: KeySettings, gateway: GatewayDep, _: AdminDep) -> JSON:
    record, plaintext = await gateway.api_keys.create(settings)
    return JSON({**record.public(), "key": plaintext}, status_code=status.HTTP_201_CREATED)


@router.get("", summary="Every key, without secrets")
async def list_keys(gateway: GatewayDep, _: AdminDep) -> dict[str, Any]:
    return {"object": "list", "data": [r.public() for r in await gateway.api_keys.list()]}


@router.get("/{key_id}", summary="One key")
async def read_key(key_id: str, gateway: GatewayDep, _: AdminDep) -> dict[str, object]:
    record = await gateway.api_keys.get(key_id)
    if record is None:
        raise NotFound(f"no API key {key_id}")
    return record.public()


@router.patch("/{key_id}", summary="Change a key's name, models, limits or budget")
async def update_key(
    key_id: str, change: KeyUpdate, gateway: GatewayDep, _: AdminDep
) -> dict[str, object]:
    record = await gateway.api_keys.update(key_id, change)
    gateway.key_cache.forget(key_id)  # the others hear of it on the key channel
    if record is None:
        raise NotFound(f"no API key {key_id}")
    return record.public()


@router.delete("/{key_id}", summary="Revoke a key: refused from the next request on")
async def revoke_key(key_id: str, gateway: GatewayDep, _: AdminDep) -> dict[str, object]:
    record = await gateway.api_keys.revoke(key_id)
    gateway.key_cache.forget(key_id)  # the others hear of it on the key channel
    if record is None:
        raise NotFound(f"no API key {key_id}")
    return record.public()
