"""OpenAI's Responses API (``/v1/responses``): a renderer of the completion session.

``POST /responses`` turns the body into the gateway's ChatRequest (continuing a stored
conversation with ``previous_response_id``), admits it like a chat completion, and answers with
the response object, its stream, or (``background: true``) a queued response whose job runs on
its own. Stored responses (``store``, the default) are read, replayed and deleted under
``/responses/{id}``; another key's id is not found. Nothing else lives here: the lifecycle is
the session's, the translation ``shared.responses_format``'s.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from gateway.admission import Admission, admit
from gateway.auth import Principal, PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import follow_session, start_session, submit
from gateway.deps import GatewayDep
from gateway.jobs import Gateway
from gateway.openai.responses_store import ResponseStore, StoredResponse
from gateway.openai.responses_stream import OnOutcome, replayed, response_stream
from gateway.openapi import RESPONSES_STREAM
from gateway.responses import JSON
from gateway.session import CompletionSession, client_gone
from gateway.sse import event_stream_response
from shared.errors import EventsExpired, InvalidRequest
from shared.events import DoneEvent, ErrorEvent, Event, numbered
from shared.jobs import Delivery, JobKind
from shared.openai_format.errors import invalid
from shared.responses_format import (
    ResponseEvents,
    ResponseOutcome,
    ResponseShell,
    ResponsesRequest,
    ResponseStatus,
    finished_response,
    response_id,
    response_object,
    responses_request,
)
from shared.usage import Usage

router = APIRouter(tags=["openai"])

ResponsesBody = Annotated[
    dict[str, Any],
    Body(
        description="OpenAI's Responses API request, plus the gateway's `fallback_models`, "
        "`provider`, `cache`, `timeout_s` and `extra_body`"
    ),
]


def response_store(gateway: Gateway) -> ResponseStore:
    return ResponseStore(gateway.redis, gateway.settings.keys, gateway.store)


@router.post(
    "/responses",
    summary="OpenAI Responses API: create a response",
    responses={200: RESPONSES_STREAM},
)
async def create_response(
    body: ResponsesBody,
    request: Request,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
) -> Response:
    parsed = responses_request(body, headers=request.headers)
    if parsed.background and not parsed.store:
        raise invalid("a background response is read later: it needs store: true", "background")
    store = response_store(gateway)
    history = await store.history(caller.key_id, parsed.previous_response_id)
    chat, added = parsed.chat(history)
    kind: JobKind = "background" if parsed.background else "stream"
    # A background response may be streamed later (GET with stream=true): it stays LIVE.
    whole = not (parsed.stream or parsed.background)
    delivery = Delivery.WHOLE if whole else Delivery.LIVE
    try:
        admission = await admit(
            gateway, caller, with_cache_header(chat, cache_control), kind=kind, delivery=delivery
        )
    except InvalidRequest as exc:
        raise parsed.names(len(history)).translated(exc) from None
    shell = _shell(parsed, admission)
    record = StoredResponse(shell=shell, job_id=admission.spec.id, conversation=[*history, *added])
    owner = caller.key_id
    if parsed.background:
        return await _background(gateway, caller, admission, parsed, store, record)
    session = await start_session(gateway, admission)
    on_outcome = None
    if parsed.store:  # under the job that answers it (another's, when it joined one in flight)
        record = record.model_copy(update={"job_id": session.job_id})
        await store.save(owner, record)
        on_outcome = _finisher(store, owner, record)
    if parsed.stream:
        return await _streamed(session, ResponseEvents(shell), on_outcome)
    answer = await session.answer(client_gone(request))
    if answer is None:  # the client left
        return Response(status_code=499)
    outcome = ResponseOutcome.of_answer(answer)
    if on_outcome is not None:
        await on_outcome(outcome)
    return JSON(finished_response(shell, outcome), headers=session.all_headers)


@router.get(
    "/responses/{response_id}",
    summary="OpenAI Responses API: a stored response",
    responses={200: RESPONSES_STREAM},
)
async def retrieve_response(
    response_id: str,
    gateway: GatewayDep,
    caller: PrincipalDep,
    stream: bool = False,
    starting_after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The stored response, or (``stream=true``) its events again, after ``starting_after``."""
    store = response_store(gateway)
    record = await store.load(caller.key_id, response_id)
    if not stream:
        status, outcome = await store.standing(caller.key_id, record)
        return JSON(_rendered(record.shell, status, outcome))
    after = -1 if starting_after is None else starting_after
    rendering = ResponseEvents(record.shell)
    job = await gateway.store.load(record.job_id)
    if job is None or (record.outcome is not None and not await _events_kept(gateway, job.id)):
        # Answered from the cache, or its events expired: only the outcome is left.
        if record.outcome is None:
            raise EventsExpired(f"the events of {response_id} are no longer kept")
        return event_stream_response(replayed(rendering, _ending(record.outcome), after))
    session = await follow_session(gateway, job)
    finish = None if record.outcome else _finisher(store, caller.key_id, record)
    body = response_stream(session, rendering, on_outcome=finish, after=after)
    return event_stream_response(body)


@router.delete("/responses/{response_id}", summary="OpenAI Responses API: delete a response")
async def delete_response(response_id: str, gateway: GatewayDep, caller: PrincipalDep) -> JSON:
    await response_store(gateway).delete(caller.key_id, response_id)
    return JSON({"id": response_id, "object": "response", "deleted": True})


@router.post(
    "/responses/{response_id}/cancel", summary="OpenAI Responses API: cancel a background one"
)
async def cancel_response(response_id: str, gateway: GatewayDep, caller: PrincipalDep) -> JSON:
    store = response_store(gateway)
    record = await store.load(caller.key_id, response_id)
    if not record.shell.echo.background:
        raise invalid("only a background response can be cancelled", None)
    await gateway.cancel(record.job_id)
    status, outcome = await store.standing(caller.key_id, record)
    if not status.finished:  # its worker ends it as cancelled
        status = ResponseStatus.CANCELLED
    return JSON(_rendered(record.shell, status, outcome))


async def _background(
    gateway: Gateway,
    caller: Principal,
    admission: Admission,
    parsed: ResponsesRequest,
    store: ResponseStore,
    record: StoredResponse,
) -> Response:
    """Store the response, then start its job; answer queued, or follow it as a stream
    (leaving that stream cancels nothing)."""
    await store.save(caller.key_id, record)
    await submit(gateway, admission)
    if not parsed.stream:
        queued = response_object(record.shell, ResponseStatus.QUEUED, [])
        return JSON(queued, headers=admission.headers)
    job = await gateway.load(admission.spec.id, owner=caller.key_id)
    session = await follow_session(gateway, job)
    finish = _finisher(store, caller.key_id, record)
    return await _streamed(session, ResponseEvents(record.shell), finish)


async def _streamed(
    session: CompletionSession, rendering: ResponseEvents, on_outcome: OnOutcome | None
) -> Response:
    # An error before the first token is an HTTP error, as the chat completion stream's.
    await session.begin()
    body = response_stream(session, rendering, on_outcome=on_outcome)
    return event_stream_response(body, headers=session.all_headers)


def _finisher(store: ResponseStore, owner: str, record: StoredResponse) -> OnOutcome:
    async def finish(outcome: ResponseOutcome) -> None:
        await store.finish(owner, record, outcome)

    return finish


def _shell(parsed: ResponsesRequest, admission: Admission) -> ResponseShell:
    spec = admission.spec
    return ResponseShell(
        id=response_id(spec.id),
        created_at=int(spec.created_at),
        model=spec.model,
        echo=parsed.echo,
        custom_tools=parsed.custom_tools,
        include_reasoning=parsed.include_reasoning,
    )


def _rendered(
    shell: ResponseShell, status: ResponseStatus, outcome: ResponseOutcome | None
) -> dict[str, Any]:
    if outcome is None:
        return response_object(shell, status, [])
    return finished_response(shell, outcome)


async def _events_kept(gateway: Gateway, job_id: str) -> bool:
    return bool(await gateway.redis.exists(gateway.settings.keys.job_events(job_id)))


def _ending(outcome: ResponseOutcome) -> Event:
    """The job's last event, rebuilt from the outcome."""
    body: DoneEvent | ErrorEvent
    if outcome.error is not None:
        body = ErrorEvent(code=outcome.error.code, message=outcome.error.message)
    else:
        body = DoneEvent(
            finish_reason=outcome.finish_reason or "stop",
            provider="",
            model="",
            usage=outcome.usage or Usage(),
            cost=None,
            message=outcome.message,
        )
    return numbered(body, 1)
