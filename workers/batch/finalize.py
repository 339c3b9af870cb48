"""Writing a batch's output and error files and ending it.

Lines that never ran (a cancelled or expired batch) are recorded first, as errors, so every
request of a batch that passed validation is in exactly one of the two files. The files' ids are
fixed by the batch: a worker that finalizes again after a crash rewrites the same files.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from shared.batch.lines import custom_id_of, is_blank
from shared.batch.models import Batch, BatchStatus, FileRecord, result_file_id
from shared.storage import lines_of
from workers.batch import records
from workers.batch.context import BatchContext

READ_BATCH_LINES = 1000
NOT_RUN_CODES = {
    BatchStatus.CANCELLED: ("batch_cancelled", "the batch was cancelled before this request ran"),
    BatchStatus.EXPIRED: ("batch_expired", "the batch's completion window ended before it ran"),
    BatchStatus.COMPLETED: ("not_run", "this request did not run"),
}


async def finalize(ctx: BatchContext, batch: Batch, outcome: BatchStatus) -> None:
    """End the batch as ``outcome`` with its result files."""
    if outcome is BatchStatus.COMPLETED:
        await ctx.batches.move(batch.id, BatchStatus.FINALIZING)
    fields: dict[str, str | int] = {}
    if batch.total > 0:  # it passed validation: every line is a request
        await _record_not_run(ctx, batch, outcome)
        lines = sorted(await ctx.batches.recorded_lines(batch.id))
        for kind, wanted in (("output", True), ("error", False)):
            file_id = await _write(ctx, batch, lines, kind, wanted)
            if file_id is not None:
                fields[f"{kind}_file_id"] = file_id
    await ctx.batches.move(batch.id, outcome, **fields)
    await ctx.batches.drop_results(batch.id)


async def _record_not_run(ctx: BatchContext, batch: Batch, outcome: BatchStatus) -> None:
    recorded = await ctx.batches.recorded_lines(batch.id)
    code, message = NOT_RUN_CODES.get(outcome, NOT_RUN_CODES[BatchStatus.COMPLETED])
    try:
        async for number, raw in lines_of(ctx.storage.open(batch.spec.input_file_id)):
            if number in recorded or is_blank(raw):
                continue
            record = records.not_run(batch.id, number, custom_id_of(raw), code, message)
            await ctx.batches.record(batch.id, number, record, ok=False, usage={})
    except FileNotFoundError:
        pass  # the input is gone: only what ran can be reported


async def _write(
    ctx: BatchContext, batch: Batch, lines: list[int], kind: str, wanted: bool
) -> str | None:
    """Write the output (``wanted`` True) or error file; its id, or None when it has no line."""
    file_id = result_file_id(batch.id, "output" if kind == "output" else "error")
    count = 0

    async def content() -> AsyncIterator[bytes]:
        nonlocal count
        for start in range(0, len(lines), READ_BATCH_LINES):
            chunk = await ctx.batches.results(batch.id, lines[start : start + READ_BATCH_LINES])
            out = [records.line_of(r) for r in chunk if r and records.is_output(r) == wanted]
            count += len(out)
            if out:
                yield b"".join(out)

    size = await ctx.storage.put_stream(file_id, content())
    if count == 0:
        await ctx.storage.delete(file_id)
        return None
    await ctx.files.save(
        FileRecord(
            id=file_id,
            owner=batch.spec.owner,
            bytes=size,
            created_at=int(time.time()),
            filename=f"{batch.id}_{kind}.jsonl",
            purpose="batch_output",
        )
    )
    return file_id
