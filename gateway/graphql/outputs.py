"""Jobs and events as the GraphQL types read them: dicts with snake_case keys (Ariadne maps
the camelCase fields onto them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.routes.complete import completion_body
from gateway.session import Events, Interrupted, Read
from shared.events import (
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Event,
    FallbackEvent,
    StartEvent,
    UsageEvent,
)
from shared.jobs import Job, Timings

# Every field of StreamCompletionResponse that an event may leave unset.
_UNSET = dict.fromkeys(
    (
        "content",
        "reasoning",
        "tool_calls",
        "finish_reason",
        "usage",
        "cost",
        "provider",
        "model",
        "cache",
        "fallback",
        "error",
    )
)


def completion_response(job: Job) -> dict[str, Any]:
    """``CompletionResponse``: the same body as REST's JSON completion."""
    return {**completion_body(job), "job_id": job.id}


def embeddings_output(job: Job) -> dict[str, Any]:
    """``Embeddings``: the vectors as floats, with the job's usage and cost."""
    assert job.embeddings is not None
    return {
        "job_id": job.id,
        "model": job.model,
        "provider": job.provider,
        "provider_model": job.provider_model,
        "dimensions": job.embeddings.dimensions,
        "vectors": job.embeddings.floats(),
        "usage": job.usage.model_dump() if job.usage else None,
        "cost": job.cost,
        "cache": job.cache,
    }


def job_output(job: Job) -> dict[str, Any]:
    """``Job``: the job without its request (which may be large and is the caller's own)."""
    body = job.model_dump(mode="json", exclude={"request", "owner"})
    body["timings"] = timings_output(job.timings)
    return body


def timings_output(timings: Timings) -> dict[str, Any]:
    def since_queued_ms(at: float | None) -> float | None:
        return round((at - timings.queued_at) * 1000, 2) if at is not None else None

    return {
        **timings.model_dump(),
        "queue_ms": since_queued_ms(timings.started_at),
        "time_to_first_token_ms": since_queued_ms(timings.first_token_at),
        "total_ms": since_queued_ms(timings.finished_at),
    }


def stream_items(job_id: str) -> Callable[[Read], list[dict[str, Any]]]:
    """Maps a session's reads to ``StreamCompletionResponse`` items; a failed read is raised
    (the subscription then ends with that error). WebSockets keep themselves alive."""

    def items(read: Read) -> list[dict[str, Any]]:
        if isinstance(read, Interrupted):
            raise read.error
        if isinstance(read, Events):
            return [stream_item(job_id, event) for event in read.events]
        return []

    return items


def stream_item(job_id: str, event: Event) -> dict[str, Any]:
    """``StreamCompletionResponse``: one event of the job's stream."""
    item: dict[str, Any] = {
        **_UNSET,
        "job_id": job_id,
        "seq": event.seq,
        "type": event.type,
        "done": event.terminal,
    }
    body = event.body
    if isinstance(body, StartEvent):
        item.update(provider=body.provider, model=body.model, cache=body.cache)
    elif isinstance(body, DeltaEvent):
        item.update(
            content=body.content or None,
            reasoning=body.reasoning or None,
            tool_calls=[f.model_dump() for f in body.tool_calls] or None,
        )
    elif isinstance(body, UsageEvent):
        item.update(usage=body.usage.model_dump())
    elif isinstance(body, FallbackEvent):
        item.update(
            provider=body.provider,
            model=body.model,
            fallback={
                "code": body.code,
                "reason": body.reason,
                "next_provider": body.next_provider,
                "next_model": body.next_model,
                "wait_s": body.wait_s,
            },
        )
    elif isinstance(body, DoneEvent):
        item.update(
            finish_reason=body.finish_reason,
            usage=body.usage.model_dump(),
            cost=body.cost,
            provider=body.provider,
            model=body.model,
            cache=body.cache,
        )
    elif isinstance(body, ErrorEvent):
        item["error"] = {
            "code": body.code,
            "message": body.message,
            "retryable": body.retryable,
            "delivered": body.delivered.model_dump() if body.delivered else None,
            "details": body.details,
        }
    return item
