"""Who is calling: the principal an API key names, for every front end (REST, GraphQL, ...).

Credentials arrive as ``Authorization: Bearer <key>`` (OpenAI style) or ``X-API-Key: <key>``; a
WebSocket sends the same header names in its ``connection_init`` payload.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.deps import GatewayDep
from gateway.jobs import ANONYMOUS, Gateway
from gateway.redis_failures import REDIS_FAILURES, lost_redis
from gateway.stream_tokens import StreamGrant
from shared.apikeys import KeyRecord
from shared.errors import Forbidden, Unauthorized

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: ``key_id`` owns the jobs it starts; only its owner sees a job."""

    key_id: str
    is_admin: bool = False
    key: KeyRecord | None = None  # None for the admin key and when auth is off

    def check_model(self, model: str) -> None:
        """Forbidden unless the key may use ``model``."""
        allowed = self.key.allowed_models if self.key else None
        if allowed is not None and model not in allowed:
            raise Forbidden(
                f"this API key may not use model {model!r}", details={"allowed": allowed}
            )


ANONYMOUS_PRINCIPAL = Principal(key_id=ANONYMOUS)


def credential_from(headers: Mapping[str, str]) -> str | None:
    """The API key in ``Authorization: Bearer`` or ``X-API-Key`` (header names any case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    bearer = lowered.get("authorization", "")
    if bearer[:7].lower() == "bearer ":
        return bearer[7:].strip() or None
    return lowered.get("x-api-key") or None


async def authenticate(gateway: Gateway, headers: Mapping[str, str]) -> Principal:
    """The caller the headers name; raises Unauthorized when a key is required and bad."""
    settings = gateway.settings
    if not settings.auth_enabled:
        return ANONYMOUS_PRINCIPAL
    credential = credential_from(headers)
    if credential is None:
        raise Unauthorized("an API key is required: Authorization: Bearer <key> or X-API-Key")
    admin = settings.admin_key
    if admin is not None and hmac.compare_digest(credential, admin.get_secret_value()):
        return Principal(key_id=ADMIN, is_admin=True)
    try:
        record = await gateway.key_cache.verify(credential)
    except REDIS_FAILURES as exc:
        raise lost_redis("authentication is unavailable; try again shortly") from exc
    if record is None:
        raise Unauthorized("the API key is not valid (unknown or revoked)")
    return Principal(key_id=record.id, key=record)


async def principal_of_grant(gateway: Gateway, grant: StreamGrant) -> Principal:
    """The owner a stream token was made for, as long as its key is still valid: a revoked
    key's tokens die with it."""
    if not gateway.settings.auth_enabled:
        return ANONYMOUS_PRINCIPAL
    if grant.owner == ADMIN:
        return Principal(key_id=ADMIN, is_admin=True)
    try:
        record = await gateway.api_keys.get(grant.owner)
    except REDIS_FAILURES as exc:
        raise lost_redis("authentication is unavailable; try again shortly") from exc
    if record is None or record.revoked:
        raise Unauthorized("the API key this stream token was made with is no longer valid")
    return Principal(key_id=record.id, key=record)


async def current_principal(request: Request, gateway: GatewayDep) -> Principal:
    return await authenticate(gateway, request.headers)


async def current_admin(caller: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not caller.is_admin:
        raise Forbidden("this needs the admin key")
    return caller


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(current_admin)]
