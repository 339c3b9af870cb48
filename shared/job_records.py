"""The typed records that cross the job store's boundary: how a claim and a cancel came out,
and the job hash's fields set together with an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from pydantic import TypeAdapter

from shared.embeddings import Embeddings
from shared.events import ErrorEvent
from shared.jobs import JobResult, JobSpec, JobStatus
from shared.routing import Attempt
from shared.usage import Usage

ATTEMPTS: TypeAdapter[list[Attempt]] = TypeAdapter(list[Attempt])


class ClaimState(StrEnum):
    """How a worker's attempt to take a job came out."""

    MISSING = "missing"  # expired, or never stored
    FINISHED = "finished"  # it has ended: a duplicate delivery
    BUSY = "busy"  # another live worker holds its lease
    CLAIMED = "claimed"  # queued, now this worker's
    RESUMED = "resumed"  # its worker died (the lease lapsed); now this worker's

    @property
    def runs(self) -> bool:
        return self in (ClaimState.CLAIMED, ClaimState.RESUMED)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a worker learns when it tries to take a job."""

    state: ClaimState
    spec: JobSpec | None = None
    cancel_requested: bool = False
    tokens_delivered: bool = False
    attempts: int = 0  # this run included


class CancelOutcome(StrEnum):
    """What asking to cancel a job did."""

    CANCELLED = "cancelled"  # it had not started: it is cancelled now
    CANCELLING = "cancelling"  # it runs: its worker stops it and ends it as cancelled
    ENDED = "ended"  # it had already ended, or expired

    @classmethod
    def after(cls, status: JobStatus | None) -> CancelOutcome:
        """The outcome of a cancel request sent to a job that was in ``status``."""
        if status is JobStatus.QUEUED:
            return cls.CANCELLED
        if status is JobStatus.RUNNING:
            return cls.CANCELLING
        return cls.ENDED


@dataclass(frozen=True, slots=True)
class JobFields:
    """Fields of the job's hash set in the same atomic step as one of its events."""

    provider: str | None = None
    provider_model: str | None = None
    started_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    result: JobResult | None = None
    usage: Usage | None = None
    cost: float | None = None
    error: ErrorEvent | None = None
    embeddings: Embeddings | None = None
    cache: str | None = None
    attempts: Sequence[Attempt] | None = None

    def merged(self, other: JobFields | None) -> JobFields:
        """These fields, and ``other``'s where it sets them."""
        if other is None:
            return self
        given = {f.name: v for f in fields(other) if (v := getattr(other, f.name)) is not None}
        return replace(self, **given)

    def as_hash(self) -> dict[str, str | float]:
        """The fields that are set, as the job hash stores them."""
        stored: dict[str, str | float] = {}
        for name in ("provider", "provider_model", "cache"):
            text = getattr(self, name)
            if text is not None:
                stored[name] = text
        for name in ("started_at", "first_token_at", "finished_at", "cost"):
            number = getattr(self, name)
            if number is not None:
                stored[name] = number
        for name in ("result", "usage", "error", "embeddings"):
            record = getattr(self, name)
            if record is not None:
                stored[name] = record.model_dump_json()
        if self.attempts:
            stored["route_attempts"] = ATTEMPTS.dump_json(list(self.attempts)).decode()
        return stored
