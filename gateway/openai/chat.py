"""``POST /v1/chat/completions``: OpenAI's chat completions, streamed or not, over the queue."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from gateway.admission import Admission, admit
from gateway.auth import PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import Following, follow, leave, wait_for_answer
from gateway.deps import GatewayDep
from gateway.jobs import Gateway
from gateway.openai.streaming import OpenedFeed, chunk_body
from gateway.responses import JSON
from gateway.sse import event_stream_response
from shared.errors import GatewayError
from shared.openai_format import (
    ChunkStream,
    StreamMode,
    chat_completion_from_job,
    chat_request_from_openai,
    stream_mode_of,
)

router = APIRouter(prefix="/v1", tags=["openai"])

# What the SDK's extra_body / extra_headers may add; see shared/openai_format.
OpenAIBody = Annotated[
    dict[str, Any],
    Body(
        description="OpenAI's chat completion request, plus the gateway's `fallback_models`, "
        "`provider`, `cache`, `timeout_s` and `extra_body`; headers `X-Gateway-Provider`, "
        "`X-Gateway-Fallback-Models` and `(X-)Cache-Control` may set them too"
    ),
]


@router.post("/chat/completions", summary="OpenAI-compatible chat completion")
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
    admission = await admit(gateway, caller, chat, kind="stream")
    following = await follow(gateway, admission)
    if mode.stream:
        return await _streamed(gateway, admission, following, mode)
    return await _answered(gateway, admission, following, request)


async def _answered(
    gateway: Gateway, admission: Admission, following: Following, request: Request
) -> Response:
    job = await wait_for_answer(gateway, admission, following, request)
    if job is None:  # the client left
        return Response(status_code=499)
    return JSON(chat_completion_from_job(job), headers=_headers(admission, following))


async def _streamed(
    gateway: Gateway, admission: Admission, following: Following, mode: StreamMode
) -> Response:
    give_up = partial(leave, gateway, following)
    opened = OpenedFeed(following.feed)
    await opened.read_head(give_up)
    error = opened.early_error()
    if error is not None:
        await opened.close()
        raise _with_headers(error, admission)
    spec = admission.spec
    chunks = ChunkStream(
        job_id=following.job_id,
        created=int(spec.created_at),
        model=spec.model,
        include_usage=mode.include_usage,
    )
    body = chunk_body(opened, chunks, on_abandoned=give_up)
    return event_stream_response(body, headers=_headers(admission, following))


def _headers(admission: Admission, following: Following) -> dict[str, str]:
    """Rate-limit, budget and cache headers, and the job's id (``GET /api/v1/jobs/{id}`` has
    its provider, timings and cost)."""
    return {**following.headers, **admission.headers}


def _with_headers(error: GatewayError, admission: Admission) -> GatewayError:
    error.headers = {**admission.headers, **error.headers}
    return error
