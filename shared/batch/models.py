"""Batches and files as stored, and as OpenAI's ``batch`` and ``file`` objects."""

from __future__ import annotations

import hashlib
import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ENDPOINT = "/v1/chat/completions"
EMBEDDINGS_ENDPOINT = "/v1/embeddings"
# What a batch may run: every line of one batch posts to its batch's endpoint.
ENDPOINTS = (ENDPOINT, EMBEDDINGS_ENDPOINT)
FilePurpose = Literal["batch", "batch_output"]


class BatchStatus(StrEnum):
    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        return self in ENDED


ENDED = frozenset(
    {BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)
# The timestamp field OpenAI sets when a batch enters each status.
STATUS_TIME_FIELD = {
    BatchStatus.IN_PROGRESS: "in_progress_at",
    BatchStatus.FINALIZING: "finalizing_at",
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLING: "cancelling_at",
    BatchStatus.CANCELLED: "cancelled_at",
}
USAGE_FIELDS = ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens")


def new_batch_id() -> str:
    return f"batch_{uuid.uuid4().hex}"


def new_file_id() -> str:
    return f"file-{uuid.uuid4().hex}"


def result_file_id(batch_id: str, kind: Literal["output", "error"]) -> str:
    """The id of a batch's output or error file: the same on every try, so a finalizing step
    that runs again replaces its file rather than leaving a second one."""
    return "file-" + hashlib.sha256(f"{batch_id}:{kind}".encode()).hexdigest()[:32]


def request_line_id(batch_id: str, line: int) -> str:
    """``batch_req_...``: the id of one request's line in the output or error file."""
    return "batch_req_" + hashlib.sha256(f"{batch_id}:{line}".encode()).hexdigest()[:32]


def unit_job_id(batch_id: str, line: int, attempt: int) -> str:
    """The job that runs one input line: fixed by the batch, the line and the attempt, so a
    batch worker taking over finds the job its predecessor started instead of starting another."""
    return f"{batch_id}-{line}-{attempt}"


class BatchSpec(BaseModel):
    """What a batch is, fixed when it is created."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    owner: str
    input_file_id: str
    endpoint: str = ENDPOINT
    completion_window: str
    metadata: dict[str, str] | None = None
    created_at: int
    expires_at: int


class LineError(BaseModel):
    """Why one input line (or the file as a whole, ``line`` None) was refused."""

    code: str
    message: str
    param: str | None = None
    line: int | None = None


class Batch(BaseModel):
    """A batch as stored: its spec and where it stands."""

    spec: BatchSpec
    status: BatchStatus
    total: int = 0
    completed: int = 0
    failed: int = 0
    times: dict[str, int] = Field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[LineError] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's Batch object."""
        spec = self.spec
        usage = {name: self.usage.get(name, 0) for name in USAGE_FIELDS}
        return {
            "id": spec.id,
            "object": "batch",
            "endpoint": spec.endpoint,
            "errors": (
                {"object": "list", "data": [e.model_dump() for e in self.errors]}
                if self.errors
                else None
            ),
            "input_file_id": spec.input_file_id,
            "completion_window": spec.completion_window,
            "status": self.status.value,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": spec.created_at,
            **{name: self.times.get(name) for name in STATUS_TIME_FIELD.values()},
            "expires_at": spec.expires_at,
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "usage": {
                "input_tokens": usage["input_tokens"],
                "input_tokens_details": {"cached_tokens": usage["cached_tokens"]},
                "output_tokens": usage["output_tokens"],
                "output_tokens_details": {"reasoning_tokens": usage["reasoning_tokens"]},
                "total_tokens": usage["input_tokens"] + usage["output_tokens"],
            },
            "metadata": spec.metadata,
        }


class FileRecord(BaseModel):
    """A stored file: the blob's name in storage is its id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    owner: str
    bytes: int
    created_at: int
    filename: str
    purpose: FilePurpose

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's File object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


def list_object(items: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    """OpenAI's cursor page: ``data``, ``first_id``, ``last_id`` and ``has_more``."""
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
