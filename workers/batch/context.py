"""What every part of batch execution in one worker process shares."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from shared.accounting import Accounting
from shared.apikeys import KeyStore
from shared.batch.files import FileStore
from shared.batch.store import BatchStore
from shared.cache import ResponseCache
from shared.jobstore import JobStore
from shared.settings import Settings
from shared.storage import FileStorage
from workers.runner import JobRunner


@dataclass(slots=True)
class BatchContext:
    """The process's stores and runner, and its per-provider slots for batch requests."""

    settings: Settings
    worker_id: str
    jobs: JobStore
    runner: JobRunner
    batches: BatchStore
    files: FileStore
    storage: FileStorage
    api_keys: KeyStore
    accounting: Accounting
    cache: ResponseCache
    _provider_slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def provider_slots(self, provider: str) -> asyncio.Semaphore:
        """Requests at once to ``provider`` from every batch this process drives."""
        slots = self._provider_slots.get(provider)
        if slots is None:
            slots = asyncio.Semaphore(self.settings.batch.provider_limit(provider))
            self._provider_slots[provider] = slots
        return slots
