"""Job specs for unit tests: one user message to the demo provider's model."""

from __future__ import annotations

from typing import Any

from shared.chat import ChatRequest
from shared.config import RouteStep
from shared.events import DoneEvent
from shared.jobs import JobKind, JobSpec
from shared.usage import Usage

DEMO_ROUTE = [RouteStep(provider="demo", model="demo-1")]


def demo_spec(
    text: str = "x",
    *,
    owner: str = "o",
    kind: JobKind = "stream",
    job_id: str | None = None,
    **options: Any,
) -> JobSpec:
    """A spec with a 30 s deadline; ``options`` are ChatRequest fields."""
    request = ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": text}], **options}
    )
    return JobSpec.new(
        owner=owner,
        kind=kind,
        model="demo",
        route=DEMO_ROUTE,
        request=request,
        deadline_s=30,
        job_id=job_id,
    )


def done_event(**fields: Any) -> DoneEvent:
    """A ``done`` event from the demo provider, with no usage and no cost unless given."""
    defaults: dict[str, Any] = {
        "finish_reason": "stop",
        "provider": "demo",
        "model": "demo-1",
        "usage": Usage(),
        "cost": None,
    }
    return DoneEvent(**{**defaults, **fields})
