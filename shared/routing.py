"""Which providers may serve a request, in order: decided once, when the gateway accepts it.

The route is stored with the job, so a config change between enqueue and run cannot reroute a
job, and a name nobody serves is refused at admission with a 404 rather than at the worker.
"""

from __future__ import annotations

from shared.chat import ChatRequest
from shared.config import RouteStep
from shared.errors import InvalidRequest, ProviderNotFound
from shared.settings import Settings


def plan_route(settings: Settings, request: ChatRequest) -> tuple[str, list[RouteStep]]:
    """The model the job is known by and its ordered route steps.

    The requested model's route comes first, then the routes of the client's fallback
    ``models``; ``provider`` keeps only that provider's steps, and also lets a client name an
    upstream model the provider lists without a route of its own.
    """
    if request.provider is not None:
        provider = settings.providers.get(request.provider)
        if provider is None or not provider.enabled:
            raise ProviderNotFound(
                f"provider {request.provider!r} is not served here; "
                "GET /api/v1/llm/providers lists the providers"
            )
        listed_only = request.model not in settings.models and request.model in provider.models
        if request.model and listed_only:
            return request.model, [RouteStep(provider=request.provider, model=request.model)]
    primary = settings.resolve_model(request.model)
    steps: list[RouteStep] = []
    for name in [primary, *(request.models or [])]:
        for step in settings.models[settings.resolve_model(name)].route:
            if settings.providers[step.provider].enabled and step not in steps:
                steps.append(step)
    if request.provider is not None:
        steps = [step for step in steps if step.provider == request.provider]
        if not steps:
            raise InvalidRequest(
                f"provider {request.provider!r} does not serve model {primary!r}",
                details={"provider": request.provider, "model": primary},
            )
    return primary, steps
