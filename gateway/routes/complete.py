"""Completions: wait for the whole answer as JSON, or stream it as Server-Sent Events."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.admission import admit
from gateway.auth import Principal, PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import start_session, submit
from gateway.deps import GatewayDep
from gateway.event_access import (
    EventRequest,
    EventRequestDep,
    KeyedEventRequestDep,
    Reader,
    answer_events,
)
from gateway.jobs import Gateway
from gateway.native_chat import NativeChat
from gateway.openapi import EVENT_STREAM, STREAM_SECURITY
from gateway.query_chat import chat_from_query, query_parameters
from gateway.responses import JSON
from gateway.routes.jobs import follow_events
from gateway.session import client_gone
from gateway.sse import EventStreamResponse, event_stream_response, sse_body
from gateway.stream_tokens import STREAM_ID_PATTERN
from shared.chat import ChatRequest
from shared.errors import Conflict, JobNotFound, NotResumable
from shared.jobs import Delivery, Job

router = APIRouter(prefix="/api/v1/llm", tags=["completions"])


@router.post("/complete", summary="Complete a chat and return the whole answer as JSON")
async def complete(
    body: NativeChat,
    request: Request,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> Response:
    chat = with_cache_header(body, cache_control)
    admission = await admit(gateway, caller, chat, kind="stream", delivery=Delivery.WHOLE)
    session = await start_session(gateway, admission)
    job = await session.result(client_gone(request))
    if job is None:  # the client left
        return Response(status_code=499)
    return JSON(completion_body(job), headers=session.all_headers)


StreamIdQuery = Annotated[
    str | None,
    Query(
        pattern=STREAM_ID_PATTERN,
        description=(
            "your id for this stream (8-64 of A-Za-z0-9_-): the job's id, so a reconnect with "
            "Last-Event-ID resumes it; the job then runs to its end if you leave"
        ),
    ),
]


@router.post(
    "/complete/stream",
    summary="Complete a chat, streamed as Server-Sent Events",
    response_class=EventStreamResponse,
    responses={200: EVENT_STREAM},
)
async def stream_post(
    body: NativeChat,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
    ask: KeyedEventRequestDep,
    stream_id: StreamIdQuery = None,
) -> Response:
    chat = with_cache_header(body, cache_control)
    return await _stream(gateway, chat, caller, stream_id=stream_id, ask=ask)


@router.get(
    "/complete/stream",
    summary="Stream a completion (EventSource-friendly)",
    description=(
        "Without `stream_id` the job is this request's: leaving cancels it, and a reconnect "
        "(Last-Event-ID) is refused with 409 `not_resumable` rather than run again. With "
        "`stream_id`, or a stream token (which names one), a reconnect resumes the same job "
        "and one after its last event gets 204."
    ),
    openapi_extra={"parameters": query_parameters(), "security": STREAM_SECURITY},
    response_class=EventStreamResponse,
    responses={200: EVENT_STREAM, 204: {"description": "the stream had ended"}},
)
async def stream_get(
    request: Request,
    gateway: GatewayDep,
    cache_control: CacheControlHeader,
    ask: EventRequestDep,
    stream_id: StreamIdQuery = None,
) -> Response:
    async def respond(reader: Reader) -> Response:
        chosen = stream_id
        if reader.grant is not None:
            if stream_id is not None:
                reader.grant.check_job(stream_id)
            chosen = reader.grant.job_id
        chat = with_cache_header(chat_from_query(request.query_params), cache_control)
        return await _stream(gateway, chat, reader.caller, stream_id=chosen, ask=ask)

    return await answer_events(gateway, request, ask, respond)


async def _stream(
    gateway: Gateway,
    chat: ChatRequest,
    caller: Principal,
    *,
    stream_id: str | None,
    ask: EventRequest,
) -> Response:
    after_seq = ask.after_seq()
    if stream_id is None:
        if after_seq is not None:
            raise NotResumable(
                "a reconnect (Last-Event-ID) to a stream without stream_id: its job cannot be "
                "named, and is not started again; give stream_id (or use a stream token), or "
                "read GET /api/v1/jobs/{X-Job-Id}/events"
            )
        admission = await admit(gateway, caller, chat, kind="stream")
        session = await start_session(gateway, admission)
        body = sse_body(session, named=ask.named, retry_ms=gateway.settings.sse_retry_ms)
        return event_stream_response(body, headers=session.all_headers)
    job, headers = await _resumable_job(gateway, chat, caller, stream_id, resuming=after_seq)
    return await follow_events(gateway, job, after_seq or 0, named=ask.named, headers=headers)


async def _resumable_job(
    gateway: Gateway, chat: ChatRequest, caller: Principal, stream_id: str, *, resuming: int | None
) -> tuple[Job, dict[str, str]]:
    """The job named ``stream_id``: the caller's own, or started now as a background job (a
    reader leaving does not cancel it, so a reconnect finds it still running)."""
    headers: dict[str, str] = {}
    job = await gateway.store.load(stream_id)
    if job is None and resuming is None:
        admission = await admit(gateway, caller, chat, kind="background", job_id=stream_id)
        with suppress(Conflict):  # a twin request took the id first: read that job instead
            await submit(gateway, admission, exclusive=True)
            headers = {"X-Cache": "HIT" if admission.hit else "MISS", **admission.headers}
        job = await gateway.store.load(stream_id)
    if job is None:
        raise JobNotFound(f"the job of stream {stream_id} has expired")
    if job.owner != caller.key_id:
        raise Conflict(f"the stream id {stream_id!r} is in use; choose another")
    return job, headers


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
