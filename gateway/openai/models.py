"""``GET /v1/models`` and ``GET /v1/models/{id}``: the routed models this key may use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.auth import Principal, PrincipalDep
from gateway.deps import GatewayDep
from shared.errors import ModelNotFound
from shared.settings import Settings

router = APIRouter(tags=["openai"])

# Models come from the configuration, which has no dates; a fixed value keeps every gateway
# instance answering the same.
CREATED = 0


@router.get("/models", summary="OpenAI-compatible list of the models served")
async def list_models(gateway: GatewayDep, caller: PrincipalDep) -> dict[str, Any]:
    settings = gateway.settings
    data = [model_object(settings, name) for name in served_models(settings, caller)]
    return {"object": "list", "data": data}


@router.get("/models/{model_id:path}", summary="OpenAI-compatible model lookup")
async def retrieve_model(
    model_id: str, gateway: GatewayDep, caller: PrincipalDep
) -> dict[str, Any]:
    settings = gateway.settings
    if model_id not in served_models(settings, caller):
        raise ModelNotFound(
            f"The model {model_id!r} does not exist or you do not have access to it."
        )
    return model_object(settings, model_id)


def served_models(settings: Settings, caller: Principal) -> list[str]:
    """Models with a provider configured, that the caller's key may use."""
    allowed = caller.key.allowed_models if caller.key else None
    return [name for name in settings.enabled_models() if allowed is None or name in allowed]


def model_object(settings: Settings, name: str) -> dict[str, Any]:
    """A model as OpenAI describes one; ``owned_by`` is the provider of its first route step."""
    owner = settings.models[name].route[0].provider
    return {"id": name, "object": "model", "created": CREATED, "owned_by": owner}
