"""``POST /api/v1/batches``: a batch from JSON, for clients that would rather not upload a file.

The requests become the batch's input file (one line each, in order, so an error's ``line`` is
the request's position from 1) and the batch runs as one created from an upload would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth import PrincipalDep
from gateway.idempotency import Idempotency, IdempotencyKeyHeader
from gateway.openai_batch.service import BatchApi, BatchApiDep
from gateway.responses import JSON
from shared.batch.models import ENDPOINT, Batch, FileRecord, new_file_id
from shared.bounds import JsonObject, JsonValue

router = APIRouter(prefix="/api/v1/batches", tags=["batches"])
NATIVE_PATH = "/api/v1/batches"


class NativeBatch(BaseModel):
    """``requests``: ``{custom_id, body}`` each, ``body`` an OpenAI chat completion request."""

    model_config = ConfigDict(extra="forbid")

    requests: list[JsonValue] = Field(min_length=1)
    metadata: JsonObject | None = None
    completion_window: str = "24h"


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Create a batch from JSON requests")
async def create(
    body: NativeBatch,
    api: BatchApiDep,
    caller: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSON:
    keys = Idempotency.for_batches(api.batches.redis, api.settings)
    async with keys.submission(caller.key_id, idempotency_key, body.model_dump()) as claim:
        if isinstance(claim, str):  # a repeat: the batch the first request made
            batch = await api.batches.get(claim, owner=caller.key_id)
        else:
            batch = await _create(body, api, caller.key_id)
            if claim is not None:
                await claim.created(batch.id)
    return JSON(
        batch.to_openai(),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/v1/batches/{batch.id}"},
    )


async def _create(body: NativeBatch, api: BatchApi, owner: str) -> Batch:
    file_id = new_file_id()

    async def lines() -> AsyncIterator[bytes]:
        for item in body.requests:
            line = item
            if isinstance(item, dict):
                line = {"custom_id": item.get("custom_id"), "method": "POST", "url": ENDPOINT}
                line["body"] = item.get("body")
            yield orjson.dumps(line) + b"\n"

    size = await api.storage.put_stream(file_id, lines())
    await api.files.save(
        FileRecord(
            id=file_id,
            owner=owner,
            bytes=size,
            created_at=int(time.time()),
            filename="requests.jsonl",
            purpose="batch",
        )
    )
    return await api.create_batch(
        owner=owner,
        input_file_id=file_id,
        endpoint=ENDPOINT,
        completion_window=body.completion_window,
        metadata=body.metadata,
    )
