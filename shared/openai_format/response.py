"""A finished job as OpenAI's ``chat.completion`` object."""

from __future__ import annotations

from typing import Any

from shared.content import AssistantMessage, ReasoningDetail
from shared.jobs import Answer
from shared.usage import Usage

ID_PREFIX = "chatcmpl-"


def completion_id(job_id: str) -> str:
    """The ``chatcmpl-`` id of a job's completion (and of every chunk of its stream)."""
    return ID_PREFIX + job_id


def chat_completion(answer: Answer) -> dict[str, Any]:
    """The ``chat.completion`` of a succeeded job; ``model`` is the routed model's name."""
    if answer.result is None:
        raise ValueError(f"job {answer.job_id} has no completion")
    message = assistant_message(answer.result)
    return {
        "id": completion_id(answer.job_id),
        "object": "chat.completion",
        "created": int(answer.created_at),
        "model": answer.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(answer.result.finish_reason),
            }
        ],
        "usage": usage_object(answer.usage),
    }


def assistant_message(answer: AssistantMessage) -> dict[str, Any]:
    """The answer as OpenAI's assistant message: content null when it only called tools;
    reasoning under DeepSeek's name, reasoning details under OpenRouter's."""
    content: str | None = answer.content if answer.content or not answer.tool_calls else None
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if answer.tool_calls:
        message["tool_calls"] = [call.model_dump() for call in answer.tool_calls]
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning
    if answer.reasoning_details:
        message["reasoning_details"] = reasoning_details(answer.reasoning_details)
    return message


def reasoning_details(details: list[ReasoningDetail]) -> list[dict[str, Any]]:
    return [detail.model_dump(exclude_none=True) for detail in details]


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
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
