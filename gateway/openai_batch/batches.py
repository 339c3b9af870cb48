"""``/v1/batches``: create a batch over an uploaded file, read, list and cancel batches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from gateway.auth import PrincipalDep
from gateway.idempotency import Idempotency, IdempotencyKeyHeader
from gateway.openai_batch.service import BatchApiDep
from gateway.responses import JSON
from shared.batch.models import list_object
from shared.bounds import JsonObject

router = APIRouter(prefix="/batches", tags=["batches"])


class CreateBatch(BaseModel):
    """OpenAI's batch creation body."""

    model_config = ConfigDict(extra="forbid")

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: JsonObject | None = None
    # Accepted for the SDK's sake; result files are kept until deleted.
    output_expires_after: JsonObject | None = None


@router.post("", summary="Create a batch from an uploaded JSONL file")
async def create(
    body: CreateBatch,
    api: BatchApiDep,
    caller: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSON:
    keys = Idempotency.for_batches(api.batches.redis, api.settings)
    async with keys.submission(caller.key_id, idempotency_key, body.model_dump()) as claim:
        if isinstance(claim, str):  # a repeat: the batch the first request made
            return JSON((await api.batches.get(claim, owner=caller.key_id)).to_openai())
        batch = await api.create_batch(
            owner=caller.key_id,
            input_file_id=body.input_file_id,
            endpoint=body.endpoint,
            completion_window=body.completion_window,
            metadata=body.metadata,
        )
        if claim is not None:
            await claim.created(batch.id)
    return JSON(batch.to_openai())


@router.get("", summary="The caller's batches, newest first")
async def list_batches(
    api: BatchApiDep,
    caller: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: str | None = None,
) -> JSON:
    batches, more = await api.batches.page_of(caller.key_id, after=after, limit=limit)
    return JSON(list_object([b.to_openai() for b in batches], has_more=more))


@router.get("/{batch_id}", summary="A batch: status, request counts, result files")
async def read(batch_id: str, api: BatchApiDep, caller: PrincipalDep) -> JSON:
    return JSON((await api.batches.get(batch_id, owner=caller.key_id)).to_openai())


@router.post("/{batch_id}/cancel", summary="Cancel a batch; finished results are kept")
async def cancel(batch_id: str, api: BatchApiDep, caller: PrincipalDep) -> JSON:
    batch = await api.batches.get(batch_id, owner=caller.key_id)
    await api.scripts_loaded()
    await api.batches.request_cancel(batch)
    return JSON((await api.batches.get(batch_id, owner=caller.key_id)).to_openai())
