"""A finished job as OpenAI's ``chat.completion`` object."""

from __future__ import annotations

from typing import Any

from shared.jobs import Job
from shared.usage import Usage

ID_PREFIX = "chatcmpl-"


def completion_id(job_id: str) -> str:
    """The ``chatcmpl-`` id of a job's completion (and of every chunk of its stream)."""
    return ID_PREFIX + job_id


def chat_completion_from_job(job: Job) -> dict[str, Any]:
    """The ``chat.completion`` of a succeeded job; ``model`` is the routed model's name."""
    if job.result is None:
        raise ValueError(f"job {job.id} has no result (status {job.status})")
    message: dict[str, Any] = {"role": "assistant", "content": job.result.content, "refusal": None}
    if job.result.reasoning:
        message["reasoning_content"] = job.result.reasoning
    return {
        "id": completion_id(job.id),
        "object": "chat.completion",
        "created": int(job.timings.queued_at),
        "model": job.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(job.result.finish_reason),
            }
        ],
        "usage": usage_object(job.usage),
    }


def finish_reason(reason: str | None) -> str:
    """The job's finish reason; ``stop`` when the provider gave none."""
    return reason or "stop"


def usage_object(usage: Usage | None) -> dict[str, Any]:
    """OpenAI's ``usage`` from the gateway's."""
    usage = usage or Usage()
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
