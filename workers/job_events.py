"""Appending one job's events in order, with the job-ended check every append makes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from shared.accounting import Charge
from shared.events import EventBody, StartEvent
from shared.job_records import JobFields
from shared.jobs import JobStatus
from shared.jobstore import JobStore

# How long the start event waits for the answer's first delta to travel with.
START_HOLD_S = 0.05


class JobGone(Exception):
    """The job ended elsewhere (cancelled while queued, or expired): stop working on it."""


class JobEvents:
    """One job's event appends. The start event is held back a moment (``start_hold_s``) while
    the provider call opens: the first delta or fallback within it carries it in the same
    append (one append fewer a job), else it is stored alone. Every later append follows it.
    ``start_hold_s=None`` holds it until the next append (or ``settle``): nobody follows the
    job live."""

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        holder: str | None = None,
        *,
        start_hold_s: float | None = START_HOLD_S,
    ) -> None:
        self.store = store
        self.job_id = job_id
        # The worker whose lease every append requires: one whose lease lapsed stops here.
        self.holder = holder
        self.start_hold_s = start_hold_s
        self._held: tuple[StartEvent, JobFields] | None = None
        self._start: asyncio.Task[None] | None = None

    def announce_start(self, provider: str, model: str) -> None:
        self._held = (
            StartEvent(provider=provider, model=model),
            JobFields(provider=provider, provider_model=model),
        )
        if self.start_hold_s is not None:
            self._start = asyncio.create_task(self._store_start_later(self.start_hold_s))

    async def after_start(
        self,
        body: EventBody,
        fields: JobFields | None = None,
        *,
        ends_as: JobStatus | None = None,
        charge: Charge | None = None,
        before: Sequence[EventBody] = (),
    ) -> None:
        """Append ``body`` (after ``before``) once the start event is stored, or in the same
        append when it is still held back."""
        held = self._take_held()
        if held is not None:
            start, start_fields = held
            fields, before = start_fields.merged(fields), [start, *before]
        elif self._start is not None:
            await self._start
        await self.append(body, ends_as=ends_as, fields=fields, charge=charge, before=before)

    async def settle(self) -> None:
        """Store a start event still held back, or wait for the one on its way; a failure is
        not raised (another error is on its way)."""
        held = self._take_held()
        if held is not None:
            start, fields = held
            self._start = asyncio.create_task(self.append(start, fields=fields))
        if self._start is not None:
            await asyncio.wait([self._start])
            if not self._start.cancelled():
                self._start.exception()

    def _take_held(self) -> tuple[StartEvent, JobFields] | None:
        held, self._held = self._held, None
        if held is not None and self._start is not None:
            self._start.cancel()  # still waiting out the hold: the caller stores it
            self._start = None
        return held

    async def _store_start_later(self, hold_s: float) -> None:
        await asyncio.sleep(hold_s)
        held, self._held = self._held, None  # not _take_held: it would cancel this task
        if held is not None:
            start, fields = held
            await self.append(start, fields=fields)

    async def append(
        self,
        body: EventBody,
        *,
        ends_as: JobStatus | None = None,
        fields: JobFields | None = None,
        charge: Charge | None = None,
        before: Sequence[EventBody] = (),
    ) -> None:
        seq = await self.store.append(
            self.job_id,
            body,
            ends_as=ends_as,
            fields=fields,
            holder=self.holder,
            charge=charge,
            before=before,
        )
        if seq <= 0:
            raise JobGone(self.job_id)
