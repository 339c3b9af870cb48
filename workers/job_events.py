"""Appending one job's events in order, with the job-ended check every append makes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from shared.accounting import Charge
from shared.events import EventBody, StartEvent
from shared.job_records import JobFields
from shared.jobs import JobStatus
from shared.jobstore import JobStore


class JobGone(Exception):
    """The job ended elsewhere (cancelled while queued, or expired): stop working on it."""


class JobEvents:
    """One job's event appends. The start event may be stored while the provider call opens
    (one round trip fewer before the first token); every later append waits for it."""

    def __init__(self, store: JobStore, job_id: str, holder: str | None = None) -> None:
        self.store = store
        self.job_id = job_id
        # The worker whose lease every append requires: one whose lease lapsed stops here.
        self.holder = holder
        self._start: asyncio.Task[None] | None = None

    def announce_start(self, provider: str, model: str) -> None:
        self._start = asyncio.create_task(
            self.append(
                StartEvent(provider=provider, model=model),
                fields=JobFields(provider=provider, provider_model=model),
            )
        )

    async def after_start(self, body: EventBody, fields: JobFields | None = None) -> None:
        if self._start is not None:
            await self._start
        await self.append(body, fields=fields)

    async def settle(self) -> None:
        """Wait for the start event; its failure is not raised (another error is on its way)."""
        if self._start is not None:
            await asyncio.wait([self._start])
            if not self._start.cancelled():
                self._start.exception()

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
