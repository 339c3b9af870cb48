"""Who is calling: the principal an API key names, for every front end (REST, GraphQL, ...).

Credentials arrive as ``Authorization: Bearer <key>`` (OpenAI style) or ``X-API-Key: <key>``; a
WebSocket sends the same header names in its ``connection_init`` payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.deps import GatewayDep
from gateway.jobs import ANONYMOUS, Gateway


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: ``key_id`` owns the jobs it starts; only its owner sees a job."""

    key_id: str
    is_admin: bool = False


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
    return ANONYMOUS_PRINCIPAL


async def current_principal(request: Request, gateway: GatewayDep) -> Principal:
    return await authenticate(gateway, request.headers)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
