"""Appending one job's events in order, with the job-ended check every append makes."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.events import EventType
from shared.jobs import JobStatus
from shared.jobstore import JobStore

JobFields = dict[str, str | float | int]


class JobGone(Exception):
    """The job ended elsewhere (cancelled while queued, or expired): stop working on it."""


class JobEvents:
    """One job's event appends. The start event may be stored while the provider call opens
    (one round trip fewer before the first token); every later append waits for it."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self._start: asyncio.Task[None] | None = None

    def announce_start(self, provider: str, model: str) -> None:
        self._start = asyncio.create_task(
            self.append(
                EventType.START,
                {"provider": provider, "model": model},
                job_fields={"provider": provider, "provider_model": model},
            )
        )

    async def after_start(
        self, event_type: EventType, fields: dict[str, Any], job_fields: JobFields | None = None
    ) -> None:
        if self._start is not None:
            await self._start
        await self.append(event_type, fields, job_fields=job_fields)

    async def settle(self) -> None:
        """Wait for the start event; its failure is not raised (another error is on its way)."""
        if self._start is not None:
            await asyncio.wait([self._start])
            if not self._start.cancelled():
                self._start.exception()

    async def append(
        self,
        event_type: EventType,
        fields: dict[str, Any],
        *,
        ends_as: JobStatus | None = None,
        job_fields: JobFields | None = None,
    ) -> None:
        seq = await self.store.append(
            self.job_id, event_type, fields, ends_as=ends_as, job_fields=job_fields
        )
        if seq <= 0:
            raise JobGone(self.job_id)
