"""Completions: wait for the whole answer as JSON, or stream it as Server-Sent Events."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.responses import StreamingResponse

from gateway.admission import admit
from gateway.auth import Principal, PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import start_session
from gateway.deps import GatewayDep
from gateway.errors import validation_details
from gateway.jobs import Gateway
from gateway.responses import JSON
from gateway.session import client_gone
from gateway.sse import event_stream_response, sse_body
from shared.chat import ChatRequest
from shared.errors import InvalidRequest
from shared.jobs import Job

router = APIRouter(prefix="/api/v1/llm", tags=["completions"])


@router.post("/complete", summary="Complete a chat and return the whole answer as JSON")
async def complete(
    chat: ChatRequest,
    request: Request,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> Response:
    chat = with_cache_header(chat, cache_control)
    admission = await admit(gateway, caller, chat, kind="stream")
    session = await start_session(gateway, admission)
    job = await session.result(client_gone(request))
    if job is None:  # the client left
        return Response(status_code=499)
    return JSON(completion_body(job), headers=session.all_headers)


@router.post("/complete/stream", summary="Complete a chat, streamed as Server-Sent Events")
async def stream_post(
    chat: ChatRequest,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> StreamingResponse:
    return await _stream(gateway, with_cache_header(chat, cache_control), caller)


@router.get("/complete/stream", summary="Stream a completion (EventSource-friendly)")
async def stream_get(
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
    prompt: Annotated[str | None, Query(description="a single user message")] = None,
    messages: Annotated[str | None, Query(description="the messages as a JSON array")] = None,
    system: Annotated[str | None, Query(description="a system message put first")] = None,
    model: str | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    stop: Annotated[list[str] | None, Query()] = None,
    seed: int | None = None,
) -> StreamingResponse:
    fields = {
        "model": model,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "stop": stop,
        "seed": seed,
    }
    chat = chat_from_query(prompt=prompt, messages=messages, system=system, options=fields)
    return await _stream(gateway, with_cache_header(chat, cache_control), caller)


async def _stream(gateway: Gateway, chat: ChatRequest, caller: Principal) -> StreamingResponse:
    admission = await admit(gateway, caller, chat, kind="stream")
    session = await start_session(gateway, admission)
    return event_stream_response(sse_body(session), headers=session.all_headers)


def chat_from_query(
    *, prompt: str | None, messages: str | None, system: str | None, options: dict[str, Any]
) -> ChatRequest:
    """Build the request from query parameters: ``prompt`` or ``messages`` (JSON), not both."""
    if (prompt is None) == (messages is None):
        raise InvalidRequest("give exactly one of `prompt` or `messages`")
    if messages is not None:
        try:
            conversation = orjson.loads(messages)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest("`messages` must be a JSON array of messages") from exc
    else:
        conversation = [{"role": "user", "content": prompt}]
    if system is not None and isinstance(conversation, list):
        conversation = [{"role": "system", "content": system}, *conversation]
    body = {"messages": conversation, **{k: v for k, v in options.items() if v is not None}}
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest("invalid request", details=validation_details(exc)) from exc


def completion_body(job: Job) -> dict[str, Any]:
    assert job.result is not None
    timings = job.timings

    def since_queued_ms(at: float | None) -> float | None:
        return round((at - timings.queued_at) * 1000, 2) if at is not None else None

    return {
        "id": job.id,
        "object": "llm.completion",
        "model": job.model,
        "provider": job.provider,
        "provider_model": job.provider_model,
        "content": job.result.content,
        "reasoning": job.result.reasoning,
        "finish_reason": job.result.finish_reason,
        "usage": job.usage.model_dump() if job.usage else None,
        "cost": job.cost,
        "cache": job.cache,
        "timings": {
            **timings.model_dump(),
            "queue_ms": since_queued_ms(timings.started_at),
            "time_to_first_token_ms": since_queued_ms(timings.first_token_at),
            "total_ms": since_queued_ms(timings.finished_at),
        },
    }
