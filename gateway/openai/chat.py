"""``POST /v1/chat/completions``: OpenAI's chat completions, streamed or not, over the queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from gateway.admission import admit
from gateway.auth import PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import start_session
from gateway.deps import GatewayDep
from gateway.openai.streaming import chunk_body
from gateway.openapi import OPENAI_STREAM
from gateway.responses import JSON
from gateway.session import CompletionSession, client_gone
from gateway.sse import event_stream_response
from shared.jobs import Delivery, JobSpec
from shared.openai_format import (
    ChunkStream,
    StreamMode,
    chat_completion,
    chat_request_from_openai,
    stream_mode_of,
)

router = APIRouter(tags=["openai"])

# What the SDK's extra_body / extra_headers may add; see shared/openai_format.
OpenAIBody = Annotated[
    dict[str, Any],
    Body(
        description="OpenAI's chat completion request, plus the gateway's `fallback_models`, "
        "`provider`, `cache`, `timeout_s` and `extra_body`; headers `X-Gateway-Provider`, "
        "`X-Gateway-Fallback-Models` and `(X-)Cache-Control` may set them too"
    ),
]


@router.post(
    "/chat/completions",
    summary="OpenAI-compatible chat completion",
    responses={200: OPENAI_STREAM},
)
async def chat_completions(
    body: OpenAIBody,
    request: Request,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> Response:
    chat = chat_request_from_openai(body, headers=request.headers)
    chat = with_cache_header(chat, cache_control)
    mode = stream_mode_of(body)
    delivery = Delivery.LIVE if mode.stream else Delivery.WHOLE
    admission = await admit(gateway, caller, chat, kind="stream", delivery=delivery)
    session = await start_session(gateway, admission)
    if mode.stream:
        return await _streamed(session, mode, admission.spec)
    answer = await session.answer(client_gone(request))
    if answer is None:  # the client left
        return Response(status_code=499)
    return JSON(chat_completion(answer), headers=session.all_headers)


async def _streamed(session: CompletionSession, mode: StreamMode, spec: JobSpec) -> Response:
    await session.begin()
    chunks = ChunkStream(
        job_id=session.job_id,
        created=int(spec.created_at),
        model=spec.model,
        include_usage=mode.include_usage,
    )
    return event_stream_response(chunk_body(session, chunks), headers=session.all_headers)
