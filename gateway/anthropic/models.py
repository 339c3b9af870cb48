"""``GET /v1/models`` for Anthropic clients (a request with ``anthropic-version``): the routed
models this key may use, in Anthropic's list shape, paged by ``limit``, ``after_id`` and
``before_id``. Claude Code's discovery keeps the ids that contain "claude" or "anthropic", so
name the models it should offer that way."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from gateway.openai.models import served_models
from shared.errors import InvalidRequest, ModelNotFound

router = APIRouter(tags=["anthropic"])

# Models come from the configuration, which has no dates; a fixed value keeps every gateway
# instance answering the same (the OpenAI listing's created: 0).
CREATED_AT = "1970-01-01T00:00:00Z"


def model_info(name: str) -> dict[str, Any]:
    return {"type": "model", "id": name, "display_name": name, "created_at": CREATED_AT}


# Shares its path with the OpenAI listing: the OpenAPI document shows that one.
@router.get("/models", include_in_schema=False)
async def list_models(
    gateway: GatewayDep,
    caller: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    after_id: str | None = None,
    before_id: str | None = None,
) -> dict[str, Any]:
    names = served_models(gateway.settings, caller)
    if after_id is not None and before_id is not None:
        raise InvalidRequest("give after_id or before_id, not both", details={"param": "before_id"})
    if after_id is not None:
        page = names[_position(names, after_id, "after_id") + 1 :][:limit]
        more = len(names) > _position(names, after_id, "after_id") + 1 + limit
    elif before_id is not None:
        end = _position(names, before_id, "before_id")
        page, more = names[max(0, end - limit) : end], end - limit > 0
    else:
        page, more = names[:limit], len(names) > limit
    return {
        "data": [model_info(name) for name in page],
        "has_more": more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }


@router.get("/models/{model_id:path}", include_in_schema=False)
async def retrieve_model(
    model_id: str, gateway: GatewayDep, caller: PrincipalDep
) -> dict[str, Any]:
    if model_id not in served_models(gateway.settings, caller):
        raise ModelNotFound(f"model: {model_id}")
    return model_info(model_id)


def _position(names: list[str], model_id: str, param: str) -> int:
    if model_id not in names:
        raise InvalidRequest(f"{param}: no model {model_id!r}", details={"param": param})
    return names.index(model_id)
