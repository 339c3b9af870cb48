"""``/v1/files``: upload a batch input file (streamed to storage), read, list and delete files."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import StreamingResponse

from gateway.auth import PrincipalDep
from gateway.openai_batch.service import BatchApiDep
from gateway.openai_batch.upload import FORM_OVERHEAD_BYTES, MultipartUpload
from gateway.responses import JSON
from shared.batch.models import FilePurpose, FileRecord, list_object, new_file_id
from shared.errors import Conflict, FileNotFound, FileTooLarge, InvalidRequest

router = APIRouter(prefix="/files", tags=["batches"])


@router.post("", summary="Upload a JSONL file of batch requests (multipart, purpose=batch)")
async def upload(request: Request, api: BatchApiDep, caller: PrincipalDep) -> JSON:
    cap = api.settings.batch.max_file_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap + FORM_OVERHEAD_BYTES:
        raise FileTooLarge(f"the file is larger than {cap} bytes")
    form = MultipartUpload(request.headers.get("content-type", ""), max_file_bytes=cap)
    file_id = new_file_id()
    size = await api.storage.put_stream(file_id, form.file_chunks(request.stream()), max_bytes=cap)
    try:
        if form.filename is None:
            raise InvalidRequest("the form has no file part", details={"param": "file"})
        purpose = form.fields.get("purpose")
        if purpose != "batch":
            raise InvalidRequest(
                "purpose must be batch: files here are batch input", details={"param": "purpose"}
            )
        record = FileRecord(
            id=file_id,
            owner=caller.key_id,
            bytes=size,
            created_at=int(time.time()),
            filename=form.filename,
            purpose="batch",
        )
        await api.files.save(record)
    except BaseException:
        await api.storage.delete(file_id)
        raise
    return JSON(record.to_openai())


@router.get("", summary="The caller's files, newest first")
async def list_files(
    api: BatchApiDep,
    caller: PrincipalDep,
    purpose: FilePurpose | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    after: str | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> JSON:
    records, more = await api.files.page_of(
        caller.key_id, after=after, limit=limit, newest_first=order == "desc", purpose=purpose
    )
    return JSON(list_object([r.to_openai() for r in records], has_more=more))


@router.get("/{file_id}", summary="A file's record")
async def read(file_id: str, api: BatchApiDep, caller: PrincipalDep) -> JSON:
    return JSON((await api.files.get(file_id, owner=caller.key_id)).to_openai())


@router.get("/{file_id}/content", summary="A file's bytes")
async def content(file_id: str, api: BatchApiDep, caller: PrincipalDep) -> StreamingResponse:
    record = await api.files.get(file_id, owner=caller.key_id)
    size = await api.storage.size(record.id)
    if size is None:
        raise FileNotFound(f"the content of file {file_id} is gone from storage")
    return StreamingResponse(
        api.files.content(record),
        media_type="application/octet-stream",
        headers={
            "content-length": str(size),
            "content-disposition": f'attachment; filename="{record.filename}"',
        },
    )


@router.delete("/{file_id}", summary="Delete a file (not one a running batch reads)")
async def delete(file_id: str, api: BatchApiDep, caller: PrincipalDep) -> JSON:
    record = await api.files.get(file_id, owner=caller.key_id)
    if await api.batches.input_in_use(record.id):
        raise Conflict(f"file {file_id} is the input of a batch that has not ended")
    await api.files.delete(record.id, owner=caller.key_id)
    return JSON({"id": record.id, "object": "file", "deleted": True})
