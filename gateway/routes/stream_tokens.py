"""Stream tokens: what a page's EventSource sends instead of a key (see gateway.stream_tokens)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth import PrincipalDep
from gateway.deps import GatewayDep
from gateway.responses import JSON
from gateway.stream_tokens import STREAM_ID_PATTERN, StreamGrant
from shared.errors import Conflict, InvalidRequest

router = APIRouter(prefix="/api/v1/stream-tokens", tags=["jobs"])


class TokenRequest(BaseModel):
    """A job of the caller's to read, or a stream to start once (and resume)."""

    model_config = ConfigDict(extra="forbid")

    job_id: Annotated[str | None, Field(description="read this job's events")] = None
    stream_id: Annotated[
        str | None,
        Field(
            pattern=STREAM_ID_PATTERN,
            description="start GET /api/v1/llm/complete/stream as this job (made up if unset)",
        ),
    ] = None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="A short-lived token that reads one job's events (or runs one stream) as you",
)
async def create(body: TokenRequest, gateway: GatewayDep, caller: PrincipalDep) -> JSON:
    if body.job_id is not None and body.stream_id is not None:
        raise InvalidRequest("give job_id or stream_id, not both")
    if body.job_id is not None:
        job = await gateway.load(body.job_id, owner=caller.key_id)
        job_id, url = job.id, f"/api/v1/jobs/{job.id}/events"
    else:
        job_id = body.stream_id or uuid.uuid4().hex
        existing = await gateway.store.load(job_id)
        if existing is not None and existing.owner != caller.key_id:
            raise Conflict(f"the stream id {job_id!r} is in use; choose another")
        url = "/api/v1/llm/complete/stream"
    issued = gateway.stream_tokens.issue(StreamGrant(owner=caller.key_id, job_id=job_id))
    return JSON(
        {
            "token": issued.token,
            "expires_at": issued.expires_at,
            "job_id": job_id,
            "url": f"{url}?token={issued.token}",
        },
        status_code=status.HTTP_201_CREATED,
    )
