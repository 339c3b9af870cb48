"""Starting and following jobs for GraphQL operations: admission, and the jobs a subscription
waits for. The read lifecycle itself is the completion session's."""

from __future__ import annotations

import asyncio

from gateway.admission import Admission, admit
from gateway.graphql.context import RequestContext
from gateway.graphql.inputs import CompletionInput
from gateway.jobs import Gateway
from shared.errors import Conflict, JobNotFound
from shared.jobs import Delivery, Job, JobKind

# A subscriber may subscribe to a streamId before the mutation that starts its job arrives; it
# waits this long for the job to appear.
JOB_WAIT_S = 10.0


async def admitted(
    ctx: RequestContext, ask: CompletionInput, kind: JobKind, delivery: Delivery = Delivery.LIVE
) -> Admission:
    """The job for this completion, checked as REST checks it; its id is the streamId if any.

    A streamId in use is refused before admission counts the request against the key's limits;
    creating the job refuses it again, atomically, should two clients race for one id."""
    if ask.stream_id is not None and await ctx.gateway.store.progress(ask.stream_id):
        raise Conflict(f"the id {ask.stream_id!r} is already in use; choose another")
    return await admit(
        ctx.gateway, ctx.principal, ask.chat, kind=kind, job_id=ask.stream_id, delivery=delivery
    )


async def job_when_it_exists(gateway: Gateway, job_id: str, owner: str) -> Job:
    """The job once it exists (waiting up to JOB_WAIT_S); JobNotFound if it never appears or is
    another key's."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOB_WAIT_S
    pause = 0.02
    while True:
        job = await gateway.store.load(job_id)
        if job is not None and job.owner == owner:
            return job
        if job is not None or loop.time() >= deadline:
            raise JobNotFound(f"no job {job_id}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
