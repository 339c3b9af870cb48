"""Background jobs: submit, list, read, follow (resumable with Last-Event-ID) and cancel."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from starlette.responses import Response

from gateway.admission import admit
from gateway.auth import PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import follow_session
from gateway.completions import submit as submit_job
from gateway.deps import GatewayDep
from gateway.event_access import EventRequestDep, Reader, answer_events
from gateway.idempotency import Idempotency, IdempotencyKeyHeader
from gateway.jobs import Gateway
from gateway.native_chat import NativeChat
from gateway.openapi import EVENT_STREAM, STREAM_SECURITY
from gateway.responses import JSON
from gateway.sse import EventStreamResponse, event_stream_response, sse_body
from gateway.stream_tokens import StreamGrant
from shared.bounds import INT64_MAX
from shared.errors import JobFinished
from shared.job_records import CancelOutcome
from shared.jobs import Job, JobSpec
from shared.recent_jobs import latest_jobs

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def job_links(job_id: str, gateway: Gateway | None = None, owner: str = "") -> dict[str, str]:
    """The job's URLs; with ``gateway`` (stream tokens on), ``event_source``: its events with a
    fresh stream token for ``owner``, a URL to give a page's EventSource."""
    base = f"/api/v1/jobs/{job_id}"
    links = {"self": base, "events": f"{base}/events", "cancel": base}
    if gateway is not None and gateway.stream_tokens.enabled:
        issued = gateway.stream_tokens.issue(StreamGrant(owner=owner, job_id=job_id))
        links["event_source"] = f"{base}/events?token={issued.token}"
    return links


def job_body(job: Job, gateway: Gateway | None = None) -> dict[str, Any]:
    body = job.model_dump(mode="json", exclude={"request"})
    body["links"] = job_links(job.id, gateway, job.owner)
    return body


def job_summary(job: Job) -> dict[str, Any]:
    """A job in a list: where it stands, without its request or answer."""
    return job.model_dump(mode="json", exclude={"request", "result"})


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, summary="Submit a job to run in the background"
)
async def submit(
    body: NativeChat,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSON:
    chat = with_cache_header(body, cache_control)
    settings = gateway.settings
    keys = Idempotency(gateway.redis, settings.keys, "jobs", settings.idempotency_ttl_s)
    request_body = chat.model_dump(mode="json")
    async with keys.submission(caller.key_id, idempotency_key, request_body) as claim:
        if isinstance(claim, str):  # a repeat: the job the first request made
            job = await gateway.load(claim, owner=caller.key_id)
            replayed = {"Idempotent-Replayed": "true"}
            return _accepted(gateway, job, job.status.value, job.cache or "MISS", headers=replayed)
        admission = await admit(gateway, caller, chat, kind="background")
        spec = admission.spec
        await submit_job(gateway, admission)
        if claim is not None:
            await claim.created(spec.id)
    hit = admission.hit is not None
    return _accepted(
        gateway,
        spec,
        "succeeded" if hit else "queued",
        "HIT" if hit else "MISS",
        headers={"X-Cache": "HIT" if hit else "MISS", **admission.headers},
    )


def _accepted(
    gateway: Gateway, job: Job | JobSpec, state: str, cache: str, *, headers: dict[str, str]
) -> JSON:
    links = job_links(job.id, gateway, job.owner)
    return JSON(
        {"id": job.id, "status": state, "model": job.model, "cache": cache, "links": links},
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": links["self"], **headers},
    )


@router.get("", summary="The caller's latest jobs, newest first (an admin's: every key's)")
async def list_jobs(
    gateway: GatewayDep,
    caller: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    live: Annotated[bool, Query(description="only jobs that have not ended")] = False,
) -> JSON:
    owner = None if caller.is_admin else caller.key_id
    keys = gateway.store.keys
    # A live job may be older than the latest `limit`: look through the whole index for them.
    ids = await latest_jobs(gateway.redis, keys, owner, keys.recent_jobs_max if live else limit)
    loaded = await asyncio.gather(*(gateway.store.load(job_id) for job_id in ids))
    jobs = [job for job in loaded if job is not None and not (live and job.status.finished)]
    return JSON({"object": "list", "data": [job_summary(job) for job in jobs[:limit]]})


@router.get("/{job_id}", summary="A job's status and, once it has ended, its result")
async def read(job_id: str, gateway: GatewayDep, caller: PrincipalDep) -> JSON:
    return JSON(job_body(await gateway.load(job_id, owner=caller.key_id), gateway))


@router.get(
    "/{job_id}/events",
    summary="The job's events as SSE: replayed, then live",
    description=(
        "Resumes after `Last-Event-ID` (or `after`); a reconnect after the job's last event "
        "gets 204. With `token` (a stream token for this job) no key is needed: for "
        "EventSource, whose refusals then arrive as one `error` event."
    ),
    response_class=EventStreamResponse,
    responses={200: EVENT_STREAM, 204: {"description": "the job had ended: nothing follows"}},
    openapi_extra={"security": STREAM_SECURITY},
)
async def events(
    job_id: str,
    request: Request,
    gateway: GatewayDep,
    ask: EventRequestDep,
    after: Annotated[
        int | None, Query(ge=0, le=INT64_MAX, description="like Last-Event-ID")
    ] = None,
) -> Response:
    async def respond(reader: Reader) -> Response:
        if reader.grant is not None:
            reader.grant.check_job(job_id)
        job = await gateway.load(job_id, owner=reader.caller.key_id)
        return await follow_events(gateway, job, ask.after_seq(after) or 0, named=ask.named)

    return await answer_events(gateway, request, ask, respond)


async def follow_events(
    gateway: Gateway,
    job: Job,
    after_seq: int,
    *,
    named: bool,
    headers: dict[str, str] | None = None,
) -> Response:
    """The job's events after ``after_seq``, live until its last; 204 when it has none left."""
    if job.status.finished and after_seq >= job.last_seq:
        return Response(status_code=204)
    # Readers of a job come and go here; leaving cancels nothing.
    session = await follow_session(gateway, job, after_seq=after_seq)
    body = sse_body(session, named=named, retry_ms=gateway.settings.sse_retry_ms)
    return event_stream_response(body, headers={**(headers or {}), "X-Job-Id": job.id})


@router.delete("/{job_id}", status_code=status.HTTP_202_ACCEPTED, summary="Cancel a job")
async def cancel(job_id: str, gateway: GatewayDep, caller: PrincipalDep) -> JSON:
    job = await gateway.load(job_id, owner=caller.key_id)
    outcome = await gateway.cancel(job.id)
    if outcome is CancelOutcome.ENDED:
        raise JobFinished(f"job {job_id} has already ended")
    return JSON(
        {"id": job.id, "status": outcome.value, "links": job_links(job.id)},
        status_code=status.HTTP_202_ACCEPTED,
    )
