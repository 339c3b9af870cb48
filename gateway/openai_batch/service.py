"""What the batch routes share: the file and batch stores, and creating a batch."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any

from celery import Celery
from fastapi import Depends, Request

from gateway.jobs import Gateway
from shared.batch.config import window_seconds
from shared.batch.files import FileStore
from shared.batch.models import ENDPOINTS, Batch, BatchSpec, new_batch_id
from shared.batch.store import BatchStore
from shared.errors import InvalidRequest
from shared.queue import RUN_BATCH_TASK
from shared.settings import Settings
from shared.storage import FileStorage, LocalDirectoryStorage

log = logging.getLogger(__name__)

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512


@dataclass(slots=True)
class BatchApi:
    """The gateway's side of batches: it stores them; the batch workers run them."""

    settings: Settings
    storage: FileStorage
    files: FileStore
    batches: BatchStore
    celery: Celery

    scripts_ready: bool = False

    async def scripts_loaded(self) -> None:
        """Load the batch store's scripts once (see BatchStore.load_scripts)."""
        if not self.scripts_ready:
            await self.batches.load_scripts()
            self.scripts_ready = True

    async def create_batch(
        self,
        *,
        owner: str,
        input_file_id: str,
        endpoint: str,
        completion_window: str,
        metadata: dict[str, Any] | None,
    ) -> Batch:
        """Store a batch over an uploaded file (validated by the batch worker that takes it)
        and wake the batch workers."""
        if endpoint not in ENDPOINTS:
            raise InvalidRequest(
                f"endpoint must be one of {', '.join(ENDPOINTS)}",
                details={"param": "endpoint"},
            )
        if completion_window not in self.settings.batch.completion_windows:
            raise InvalidRequest(
                "completion_window must be one of "
                + ", ".join(self.settings.batch.completion_windows),
                details={"param": "completion_window"},
            )
        checked = check_metadata(metadata)
        record = await self.files.get(input_file_id, owner=owner)
        if record.purpose != "batch":
            raise InvalidRequest(
                f"file {input_file_id} was not uploaded with purpose batch",
                details={"param": "input_file_id"},
            )
        now = int(time.time())
        spec = BatchSpec(
            id=new_batch_id(),
            owner=owner,
            input_file_id=input_file_id,
            endpoint=endpoint,
            completion_window=completion_window,
            metadata=checked,
            created_at=now,
            expires_at=now + window_seconds(completion_window),
        )
        batch = await self.batches.create(spec)
        await self.wake(spec.id)
        return batch

    async def wake(self, batch_id: str) -> None:
        """Tell a batch worker now; if this fails, a worker's next look at the active batches
        finds it anyway."""
        try:
            await asyncio.to_thread(
                self.celery.send_task,
                RUN_BATCH_TASK,
                args=[batch_id],
                queue=self.settings.batch.queue,
            )
        except Exception:
            log.warning("could not enqueue batch %s; a batch worker will find it", batch_id)


def check_metadata(metadata: dict[str, Any] | None) -> dict[str, str] | None:
    """OpenAI's rules: at most 16 pairs, string keys up to 64 and values up to 512 chars."""
    if metadata is None:
        return None
    problem = None
    if len(metadata) > MAX_METADATA_PAIRS:
        problem = f"metadata takes at most {MAX_METADATA_PAIRS} pairs"
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY_CHARS:
            problem = f"metadata keys are at most {MAX_METADATA_KEY_CHARS} characters"
        elif not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_CHARS:
            problem = f"metadata values are strings of at most {MAX_METADATA_VALUE_CHARS} chars"
    if problem:
        raise InvalidRequest(problem, details={"param": "metadata"})
    return {key: str(value) for key, value in metadata.items()}


def build_batch_api(gateway: Gateway) -> BatchApi:
    """The Batch API's resources, from the gateway's (made once, at start)."""
    settings = gateway.settings
    storage = LocalDirectoryStorage(settings.batch.storage_dir)
    return BatchApi(
        settings=settings,
        storage=storage,
        files=FileStore(gateway.redis, settings.keys, storage),
        batches=BatchStore(gateway.redis, settings.keys),
        celery=gateway.celery,
    )


async def get_batch_api(request: Request) -> BatchApi:
    api: BatchApi = request.state.batch_api
    return api


BatchApiDep = Annotated[BatchApi, Depends(get_batch_api)]
