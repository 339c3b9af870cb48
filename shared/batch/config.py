"""How batches are stored and run: the ``batch`` section of the settings."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

_WINDOW = re.compile(r"^([1-9][0-9]*)h$")


class BatchSettings(BaseModel):
    """Batch API limits, file storage and execution on the batch workers."""

    model_config = ConfigDict(extra="forbid")

    queue: str = Field("llm.batch", description="Celery queue the batch workers consume")
    storage_dir: Path = Field(
        Path("data/files"), description="where uploaded and result files live (a shared volume)"
    )
    max_file_bytes: int = Field(200 * 2**20, ge=1024, description="cap of one uploaded file")
    max_native_body_bytes: int = Field(
        32 * 2**20, ge=1024, description="cap of a POST /api/v1/batches JSON body"
    )
    max_requests_per_batch: int = Field(50_000, ge=1)
    completion_windows: list[str] = Field(
        default_factory=lambda: ["24h"], min_length=1, description="accepted, as <hours>h"
    )
    concurrency_per_batch: int = Field(32, ge=1, description="requests of one batch at once")
    provider_concurrency: dict[str, int] = Field(
        default_factory=dict,
        description="requests at once per provider, in one batch worker process",
    )
    default_provider_concurrency: int = Field(
        256, ge=1, description="for providers not in provider_concurrency"
    )
    active_batches_per_worker: int = Field(8, ge=1, description="batches one worker drives")
    lease_ttl_s: float = Field(
        15.0, gt=0, description="a dead worker's batch is taken over after this"
    )
    attempts: int = Field(
        3, ge=1, description="runs of a request whose worker died after it had streamed"
    )
    nice: int = Field(
        10, ge=0, le=19, description="CPU niceness of a batch worker process (0: as others)"
    )
    drain_s: float = Field(
        30.0, ge=0, description="on shutdown, how long running requests may finish"
    )

    @field_validator("completion_windows")
    @classmethod
    def _windows_parse(cls, windows: list[str]) -> list[str]:
        for window in windows:
            if not _WINDOW.match(window):
                raise ValueError(f"completion window {window!r} is not <hours>h, e.g. 24h")
        return windows

    def provider_limit(self, provider: str) -> int:
        return self.provider_concurrency.get(provider, self.default_provider_concurrency)


def window_seconds(window: str) -> int:
    """``"24h"`` in seconds."""
    found = _WINDOW.match(window)
    if found is None:
        raise ValueError(f"not a completion window: {window!r}")
    return int(found.group(1)) * 3600
