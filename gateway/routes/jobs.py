"""Background jobs: submit, read, follow (resumable with Last-Event-ID) and cancel."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, status
from starlette.responses import StreamingResponse

from gateway.admission import admit
from gateway.auth import PrincipalDep
from gateway.cache_control import CacheControlHeader, with_cache_header
from gateway.completions import follow_session
from gateway.completions import submit as submit_job
from gateway.deps import GatewayDep
from gateway.idempotency import Idempotency, IdempotencyKeyHeader
from gateway.responses import JSON
from gateway.sse import event_stream_response, sse_body
from shared.bounds import INT64_MAX
from shared.chat import ChatRequest
from shared.errors import InvalidRequest, JobFinished
from shared.jobs import Job
from shared.jobstore import CancelOutcome

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
SEQ = re.compile(r"^ *[0-9]{1,19} *$")


def seq_from_header(value: str) -> int:
    """The seq a Last-Event-ID names: ASCII digits within 64 bits, else InvalidRequest."""
    value = value.strip()
    if not SEQ.fullmatch(value) or int(value) > INT64_MAX:
        raise InvalidRequest(
            "Last-Event-ID must be the seq of an event (a whole number below 2^63)",
            details=[{"loc": ["header", "Last-Event-ID"], "msg": "not a seq"}],
        )
    return int(value)


def job_links(job_id: str) -> dict[str, str]:
    base = f"/api/v1/jobs/{job_id}"
    return {"self": base, "events": f"{base}/events", "cancel": base}


def job_body(job: Job) -> dict[str, Any]:
    body = job.model_dump(mode="json", exclude={"request"})
    body["links"] = job_links(job.id)
    return body


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, summary="Submit a job to run in the background"
)
async def submit(
    chat: ChatRequest,
    gateway: GatewayDep,
    caller: PrincipalDep,
    cache_control: CacheControlHeader,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSON:
    chat = with_cache_header(chat, cache_control)
    settings = gateway.settings
    keys = Idempotency(gateway.redis, settings.keys, "jobs", settings.idempotency_ttl_s)
    body = chat.model_dump(mode="json")
    async with keys.submission(caller.key_id, idempotency_key, body) as claim:
        if isinstance(claim, str):  # a repeat: the job the first request made
            job = await gateway.load(claim, owner=caller.key_id)
            replayed = {"Idempotent-Replayed": "true"}
            return _accepted(job.id, job.status.value, job.model, job.cache or "MISS", replayed)
        admission = await admit(gateway, caller, chat, kind="background")
        spec = admission.spec
        await submit_job(gateway, admission)
        if claim is not None:
            await claim.created(spec.id)
    hit = admission.hit is not None
    return _accepted(
        spec.id,
        "succeeded" if hit else "queued",
        spec.model,
        "HIT" if hit else "MISS",
        {"X-Cache": "HIT" if hit else "MISS", **admission.headers},
    )


def _accepted(job_id: str, state: str, model: str, cache: str, headers: dict[str, str]) -> JSON:
    links = job_links(job_id)
    return JSON(
        {"id": job_id, "status": state, "model": model, "cache": cache, "links": links},
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": links["self"], **headers},
    )


@router.get("/{job_id}", summary="A job's status and, once it has ended, its result")
async def read(job_id: str, gateway: GatewayDep, caller: PrincipalDep) -> JSON:
    return JSON(job_body(await gateway.load(job_id, owner=caller.key_id)))


@router.get("/{job_id}/events", summary="The job's events as SSE: replayed, then live")
async def events(
    job_id: str,
    gateway: GatewayDep,
    caller: PrincipalDep,
    last_event_id: Annotated[
        str | None, Header(pattern=SEQ.pattern, description="the seq of the last event seen")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=INT64_MAX, description="like Last-Event-ID")
    ] = None,
) -> StreamingResponse:
    after_seq = after or 0
    if last_event_id:
        after_seq = seq_from_header(last_event_id)
    job = await gateway.load(job_id, owner=caller.key_id)
    # Readers of a job come and go here; leaving cancels nothing.
    session = await follow_session(gateway, job, after_seq=after_seq)
    return event_stream_response(sse_body(session))


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
