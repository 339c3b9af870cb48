"""Jobs and events as the GraphQL types read them: dicts with snake_case keys (Ariadne maps
the camelCase fields onto them)."""

from __future__ import annotations

from typing import Any

from gateway.routes.complete import completion_body
from shared.events import Event, EventType
from shared.jobs import Job, Timings


def completion_response(job: Job) -> dict[str, Any]:
    """``CompletionResponse``: the same body as REST's JSON completion."""
    return {**completion_body(job), "job_id": job.id}


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


def stream_item(job_id: str, event: Event) -> dict[str, Any]:
    """``StreamCompletionResponse``: one event of the job's stream."""
    data = event.data
    item: dict[str, Any] = {
        "job_id": job_id,
        "seq": event.seq,
        "type": event.type,
        "done": event.terminal,
        **{
            name: data.get(name)
            for name in ("content", "reasoning", "finish_reason", "usage", "cost")
        },
        "provider": data.get("provider"),
        "model": data.get("model"),
        "cache": data.get("cache"),
    }
    if event.type == EventType.FALLBACK:
        item["fallback"] = {
            "code": data.get("code", ""),
            "reason": data.get("reason", ""),
            "next_provider": data.get("next_provider"),
            "next_model": data.get("next_model"),
            "wait_s": data.get("wait_s"),
        }
    elif event.type == EventType.ERROR:
        item["error"] = {
            "code": data.get("code", "internal_error"),
            "message": data.get("message", "the job failed"),
            "retryable": bool(data.get("retryable", False)),
            "delivered": data.get("delivered"),
            "details": data.get("details"),
        }
    return item
