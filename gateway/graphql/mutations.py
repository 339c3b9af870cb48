"""Mutation resolvers: jobs started before anyone reads them, and cancelling.

Both starting mutations create *background* jobs: they run whether or not anyone subscribes,
and a subscriber leaving never cancels them (it may come back and resume with ``afterSeq``);
only ``cancelCompletion`` does. A job that cancelled itself when its reader left would make the
two-step flow lose the race it exists to avoid.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType

from gateway.completions import submit
from gateway.graphql.context import Info, context_of
from gateway.graphql.inputs import completion_input
from gateway.graphql.outputs import job_output
from gateway.graphql.running import admitted
from shared.errors import InvalidRequest, JobFinished
from shared.job_records import CancelOutcome

mutation = MutationType()


@mutation.field("submitCompletion")
async def resolve_submit(
    _: None,
    info: Info,
    messages: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx = context_of(info)
    ask = completion_input(messages, options)
    admission = await admitted(ctx, ask, "background")
    await submit(ctx.gateway, admission, exclusive=ask.stream_id is not None)
    return job_output(await ctx.gateway.load(admission.spec.id, owner=ctx.principal.key_id))


@mutation.field("startStreamCompletion")
async def resolve_start_stream(
    _: None,
    info: Info,
    messages: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> bool:
    ctx = context_of(info)
    ask = completion_input(messages, options)
    if ask.stream_id is None:
        # A job nobody could subscribe to would spend tokens for nothing.
        raise InvalidRequest(
            "startStreamCompletion needs options.streamId; submitCompletion returns a new id",
            details=[{"loc": ["options", "streamId"], "msg": "required here"}],
        )
    await submit(ctx.gateway, await admitted(ctx, ask, "background"), exclusive=True)
    return True


@mutation.field("cancelCompletion")
async def resolve_cancel(
    _: None, info: Info, stream_id: str | None = None, job_id: str | None = None
) -> dict[str, Any]:
    ctx = context_of(info)
    ids = {given for given in (stream_id, job_id) if given is not None}
    if len(ids) != 1:
        raise InvalidRequest("give streamId or jobId (they are the same id)")
    job = await ctx.gateway.load(ids.pop(), owner=ctx.principal.key_id)
    outcome = await ctx.gateway.cancel(job.id)
    if outcome is CancelOutcome.ENDED:
        raise JobFinished(f"job {job.id} has already ended")
    return {"job_id": job.id, "status": outcome.name}
