"""Which providers may serve a request, in order: decided once, when the gateway accepts it.

The route is stored with the job, so a config change between enqueue and run cannot reroute a
job, and a name nobody serves (or a request no step can take) is refused at admission rather
than at the worker. Each step carries what it can take (``shared.capabilities``), so the worker
skips the steps a request cannot go to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.capabilities import Capability, capabilities_of
from shared.chat import ChatRequest
from shared.config import RouteStep
from shared.content import AudioPart, FilePart, ImagePart, JsonSchemaResponseFormat
from shared.content_checks import check_attachments
from shared.embeddings import EmbeddingRequest
from shared.errors import CapabilityUnsupported, InvalidRequest, ProviderError, ProviderNotFound
from shared.settings import Settings


def plan_route(
    settings: Settings, request: ChatRequest | EmbeddingRequest
) -> tuple[str, list[RouteStep]]:
    """The model the job is known by and its ordered route steps.

    The requested model's route comes first, then the routes of the client's fallback
    ``models``; ``provider`` keeps only that provider's steps, and also lets a client name an
    upstream model the provider lists without a route of its own. Raises
    CapabilityUnsupported when no step can take the request, and the attachment errors when it
    carries more images or files than the settings allow.
    """
    if isinstance(request, ChatRequest):
        check_attachments(request.messages, settings.attachments)
    model, steps = _steps(settings, request)
    routed = [_with_capabilities(settings, step) for step in steps]
    check_capable(routed, required_by(request))
    return model, routed


def missing_for(step: RouteStep, needs: frozenset[Capability]) -> list[Capability]:
    """What the step cannot take of ``needs`` (in a stable order); nothing for a step whose
    capabilities were never resolved (a job routed by an older release)."""
    if step.capabilities is None:
        return []
    return sorted(needs - set(step.capabilities))


def check_capable(route: list[RouteStep], needs: frozenset[Capability]) -> None:
    """Raises CapabilityUnsupported, naming what each step lacks, unless one step can serve."""
    lacking = [(step, missing_for(step, needs)) for step in route]
    if not needs or any(not missing for _, missing in lacking):
        return
    summary = "; ".join(f"{s.provider}/{s.model} lacks {', '.join(m)}" for s, m in lacking)
    raise CapabilityUnsupported(
        f"no provider of the route can take this request ({summary})",
        details={
            "required": sorted(needs),
            "steps": [{"provider": s.provider, "model": s.model, "missing": m} for s, m in lacking],
        },
    )


def required_by(request: ChatRequest | EmbeddingRequest) -> frozenset[Capability]:
    """What a step must take to serve ``request``."""
    if isinstance(request, EmbeddingRequest):
        return frozenset({Capability.EMBEDDINGS})
    needs: set[Capability] = set()
    if request.tools or any(m.tool_calls or m.role == "tool" for m in request.messages):
        needs.add(Capability.TOOLS)
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                needs.add(Capability.VISION)
            elif isinstance(part, FilePart):
                needs.add(Capability.FILES)
            elif isinstance(part, AudioPart):
                needs.add(Capability.AUDIO)
    if isinstance(request.response_format, JsonSchemaResponseFormat):
        needs.add(Capability.JSON_SCHEMA)
    if request.reasoning_effort is not None:
        needs.add(Capability.REASONING)
    return frozenset(needs)


def _with_capabilities(settings: Settings, step: RouteStep) -> RouteStep:
    if step.capabilities is not None:
        return step.model_copy(update={"capabilities": tuple(sorted(step.capabilities))})
    found = capabilities_of(settings.providers[step.provider], step.model)
    return step.model_copy(update={"capabilities": tuple(sorted(found))})


def _steps(
    settings: Settings, request: ChatRequest | EmbeddingRequest
) -> tuple[str, list[RouteStep]]:
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


class SkipReason(StrEnum):
    """Why a step of the route was passed over without a call."""

    CIRCUIT_OPEN = "circuit_open"
    PROVIDER_SATURATED = "provider_saturated"
    CAPABILITY_UNSUPPORTED = "capability_unsupported"

    @property
    def explanation(self) -> str:
        if self is SkipReason.CIRCUIT_OPEN:
            return "skipped: the provider keeps failing and is paused"
        if self is SkipReason.PROVIDER_SATURATED:
            return "skipped: the provider is at its configured quota"
        return "skipped: the provider cannot take this request"


class Attempt(BaseModel):
    """One step of the route tried (and failed) or passed over."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str
    skipped: SkipReason | None = None
    missing: list[Capability] | None = None  # what a step skipped for its capabilities lacks
    code: str | None = None
    message: str | None = None
    upstream_status: int | None = None

    @classmethod
    def failed(cls, step: RouteStep, error: ProviderError) -> Attempt:
        return cls(
            provider=step.provider,
            model=step.model,
            code=error.code,
            message=error.message,
            upstream_status=error.upstream_status,
        )

    @classmethod
    def passed_over(
        cls, step: RouteStep, reason: SkipReason, missing: list[Capability] | None = None
    ) -> Attempt:
        return cls(provider=step.provider, model=step.model, skipped=reason, missing=missing)

    @property
    def outcome(self) -> str:
        """The skip reason or the error code, as the final error's message names it."""
        return str(self.skipped or self.code)

    def to_dict(self) -> dict[str, Any]:
        """The attempt as the ``attempts`` list of a job or its final error shows it."""
        record: dict[str, Any] = {"provider": self.provider, "model": self.model}
        if self.skipped is not None:
            record["skipped"] = self.skipped.value
        if self.missing:
            record["missing"] = [m.value for m in self.missing]
        if self.code is not None:
            record |= {
                "code": self.code,
                "message": self.message,
                "upstream_status": self.upstream_status,
            }
        return record
