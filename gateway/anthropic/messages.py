"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: Anthropic's Messages API over the queue.

A renderer of the one completion session: the body is parsed into the gateway's request
(``shared.anthropic_format``), admitted and started as on every front end, and the session's
answer or reads are written in Anthropic's shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from gateway.admission import admit
from gateway.anthropic.streaming import message_stream_body
from gateway.anthropic.upstream import upstream_of
from gateway.auth import PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import start_session
from gateway.deps import GatewayDep
from gateway.openapi import MESSAGES_STREAM
from gateway.responses import JSON
from gateway.session import client_gone
from gateway.sse import event_stream_response
from shared.anthropic_format import MessagesRequest, MessageStream, message_of
from shared.anthropic_format import messages_request as parse
from shared.errors import InvalidRequest
from shared.jobs import Delivery
from shared.limits import estimate_prompt_tokens

router = APIRouter(tags=["anthropic"])

AnthropicBody = Annotated[
    dict[str, Any],
    Body(
        description="Anthropic's Messages request, plus the gateway's `fallback_models`, "
        "`provider`, `cache` and `timeout_s`; headers `X-Gateway-Provider`, "
        "`X-Gateway-Fallback-Models` and `(X-)Cache-Control` may set them too"
    ),
]


@router.post(
    "/messages",
    summary="Anthropic Messages API: a message, streamed or not",
    responses={200: MESSAGES_STREAM},
)
async def create_message(
    body: AnthropicBody,
    request: Request,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> Response:
    parsed = parse(body, headers=request.headers)
    with _named_by_body(parsed):
        upstream = upstream_of(gateway.settings, parsed.chat)
        chat = with_cache_header(parsed.for_upstream(upstream), cache_control)
        delivery = Delivery.LIVE if parsed.stream else Delivery.WHOLE
        admission = await admit(gateway, caller, chat, kind="stream", delivery=delivery)
    session = await start_session(gateway, admission)
    headers = {**session.all_headers, "request-id": f"req_{session.job_id}"}
    if parsed.stream:
        await session.begin()
        stream = MessageStream(
            job_id=session.job_id,
            model=admission.spec.model,
            input_estimate=estimate_prompt_tokens(chat),
            signed_thinking=parsed.signs_thinking(upstream),
        )
        return event_stream_response(message_stream_body(session, stream), headers=headers)
    answer = await session.answer(client_gone(request))
    if answer is None:  # the client left
        return Response(status_code=499)
    return JSON(message_of(answer), headers=headers)


@router.post("/messages/count_tokens", summary="Anthropic Messages API: count input tokens")
async def count_tokens(
    body: AnthropicBody, request: Request, gateway: GatewayDep, caller: PrincipalDep
) -> dict[str, int]:
    """The gateway's estimate of the prompt's tokens (``shared.limits``), for every model: the
    gateway never calls a provider itself, so an Anthropic model is counted the same way."""
    parsed = parse(body, headers=request.headers, counting=True)
    caller.check_model(gateway.settings.resolve_model(parsed.chat.model))
    return {"input_tokens": estimate_prompt_tokens(parsed.chat)}


@contextmanager
def _named_by_body(parsed: MessagesRequest) -> Iterator[None]:
    """A refusal of the gateway's request (a capability, an attachment) names the body's field."""
    try:
        yield
    except InvalidRequest as error:
        parsed.in_body_terms(error)
        raise
