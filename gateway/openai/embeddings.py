"""``POST /v1/embeddings``: OpenAI's embeddings, run as a job through the queue like a chat."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from gateway.admission import admit
from gateway.auth import PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import start_session
from gateway.deps import GatewayDep
from gateway.responses import JSON
from gateway.session import client_gone
from shared.jobs import Delivery
from shared.openai_format.embeddings import embedding_request_from_openai, embeddings_response

router = APIRouter(tags=["openai"])

OpenAIEmbeddingBody = Annotated[
    dict[str, Any],
    Body(
        description="OpenAI's embeddings request (`input`, `model`, `encoding_format`, "
        "`dimensions`, `user`), plus the gateway's `fallback_models`, `provider`, `cache`, "
        "`timeout_s` and `extra_body`"
    ),
]


@router.post("/embeddings", summary="OpenAI-compatible embeddings")
async def create_embeddings(
    body: OpenAIEmbeddingBody,
    request: Request,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> Response:
    embedding, encoding = embedding_request_from_openai(body, headers=request.headers)
    embedding = with_cache_header(embedding, cache_control)
    admission = await admit(gateway, caller, embedding, kind="stream", delivery=Delivery.WHOLE)
    session = await start_session(gateway, admission)
    answer = await session.answer(client_gone(request))
    if answer is None:  # the client left
        return Response(status_code=499)
    return JSON(embeddings_response(answer, encoding), headers=session.all_headers)
