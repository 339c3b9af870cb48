"""What a response is made of, as records: the shell every rendering of it shares (its id, what
it echoes of the request, how its calls and reasoning are shown) and its outcome."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.content import AssistantMessage
from shared.events import DoneEvent, ErrorEvent
from shared.jobs import Answer, Job, JobStatus
from shared.usage import Usage

ID_PREFIX = "resp_"


def response_id(spec_id: str) -> str:
    """The ``resp_`` id of the response a job spec was made for."""
    return ID_PREFIX + spec_id


class ResponseStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (ResponseStatus.QUEUED, ResponseStatus.IN_PROGRESS)


# finish reasons that leave a response incomplete, with the reason OpenAI gives
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResponseEcho(_Record):
    """The request's settings as the response object repeats them (OpenAI's defaults when
    the request left them out)."""

    instructions: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: Any = "auto"
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    parallel_tool_calls: bool = True
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    reasoning: dict[str, Any] | None = None
    truncation: str = "disabled"
    user: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    store: bool = True
    background: bool = False
    previous_response_id: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None


class ResponseShell(_Record):
    """What every rendering of one response shares: its id, creation time, the routed model,
    the echo, the function names that stand for custom tools, and whether reasoning items carry
    ``encrypted_content``."""

    id: str
    created_at: int
    model: str
    echo: ResponseEcho
    custom_tools: frozenset[str] = frozenset()
    include_reasoning: bool = False

    @property
    def key(self) -> str:
        """The id without its prefix, which the ids of the output items are built from."""
        return self.id.removeprefix(ID_PREFIX)

    def item_id(self, kind: str, index: int | None = None) -> str:
        """``msg_<key>``, ``rs_<key>``, ``fc_<key>_<n>``: the same in a stream, its replay and
        the stored response."""
        suffix = "" if index is None else f"_{index}"
        return f"{kind}_{self.key}{suffix}"


class ResponseFailure(_Record):
    code: str
    message: str


class ResponseOutcome(_Record):
    """How a response ended: its status, the answer (whole), usage and the error if it failed."""

    status: ResponseStatus
    message: AssistantMessage | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    error: ResponseFailure | None = None
    completed_at: int | None = None

    @classmethod
    def of_done(cls, done: DoneEvent, at: float) -> ResponseOutcome:
        return cls(
            status=_status_for(done.finish_reason),
            message=done.message or AssistantMessage(),
            finish_reason=done.finish_reason,
            usage=done.usage,
            completed_at=int(at),
        )

    @classmethod
    def of_error(cls, error: ErrorEvent) -> ResponseOutcome:
        status = ResponseStatus.CANCELLED if error.code == "cancelled" else ResponseStatus.FAILED
        return cls(status=status, error=ResponseFailure(code=error.code, message=error.message))

    @classmethod
    def of_answer(cls, answer: Answer) -> ResponseOutcome:
        result = answer.result
        assert result is not None, "a completion's answer has its message"
        return cls(
            status=_status_for(result.finish_reason),
            message=AssistantMessage.model_validate(result.model_dump()),
            finish_reason=result.finish_reason,
            usage=answer.usage,
            completed_at=int(answer.finished_at),
        )

    @classmethod
    def of_job(cls, job: Job) -> ResponseOutcome | None:
        """The outcome of a job that has ended; None while it runs."""
        if job.status is JobStatus.SUCCEEDED and job.result is not None:
            return cls.of_answer(Answer.of_job(job))
        if job.status.finished:
            error = job.error or ErrorEvent(code="failed", message=f"the job {job.status.value}")
            if job.status is JobStatus.CANCELLED:
                error = error.model_copy(update={"code": "cancelled"})
            return cls.of_error(error)
        return None


def _status_for(finish_reason: str | None) -> ResponseStatus:
    if finish_reason in INCOMPLETE_REASONS:
        return ResponseStatus.INCOMPLETE
    return ResponseStatus.COMPLETED
