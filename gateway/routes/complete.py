"""Completions: wait for the whole answer as JSON, or stream it as Server-Sent Events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.responses import StreamingResponse

from gateway.admission import admit
from gateway.auth import Principal, PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import start_session
from gateway.deps import GatewayDep
from gateway.jobs import Gateway
from gateway.query_chat import chat_from_query, query_parameters
from gateway.responses import JSON
from gateway.session import client_gone
from gateway.sse import event_stream_response, sse_body
from shared.chat import ChatRequest
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


@router.get(
    "/complete/stream",
    summary="Stream a completion (EventSource-friendly)",
    openapi_extra={"parameters": query_parameters()},
)
async def stream_get(
    request: Request, gateway: GatewayDep, caller: PrincipalDep, cache_control: CacheControlHeader
) -> StreamingResponse:
    chat = chat_from_query(request.query_params)
    return await _stream(gateway, with_cache_header(chat, cache_control), caller)


async def _stream(gateway: Gateway, chat: ChatRequest, caller: Principal) -> StreamingResponse:
    admission = await admit(gateway, caller, chat, kind="stream")
    session = await start_session(gateway, admission)
    return event_stream_response(sse_body(session), headers=session.all_headers)


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
        "tool_calls": [call.model_dump() for call in job.result.tool_calls],
        "reasoning_details": [d.model_dump(exclude_none=True) for d in job.result.reasoning_details]
        or None,
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
