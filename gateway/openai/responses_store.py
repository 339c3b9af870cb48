"""Stored Responses API responses: one JSON record per response, under its API key's name.

A record holds the response's shell, the job that answers it and the conversation so far (the
earlier turns and this input, without the instructions), so ``previous_response_id`` continues
it with one read and another key's id is simply not there. Its outcome is written by the reader
that sees the job end (the stream, the blocking call, or the first read of a background
response), so a stored response outlives its job (``result_ttl_s``); a background response
nobody reads before its job expires is answered as failed (``job_not_found``).
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from gateway.redis_failures import REDIS_FAILURES
from shared.chat import ChatMessage
from shared.jobs import JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.responses_format import ResponseOutcome, ResponseShell, ResponseStatus
from shared.responses_format.errors import (
    PreviousResponseNotFound,
    ResponseInProgress,
    ResponseNotFound,
)
from shared.responses_format.records import ResponseFailure

log = logging.getLogger(__name__)


class StoredResponse(BaseModel):
    """A stored response: its shell, its job, its conversation and, once known, its outcome."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shell: ResponseShell
    job_id: str
    conversation: list[ChatMessage]
    outcome: ResponseOutcome | None = None

    def history(self, outcome: ResponseOutcome) -> list[ChatMessage]:
        """The conversation a response continuing this one builds on: this one's, and its
        answer as an assistant turn."""
        answer = outcome.message
        if answer is None or not (answer.content or answer.tool_calls):
            return list(self.conversation)
        turn = ChatMessage(
            role="assistant",
            content=answer.content or (None if answer.tool_calls else ""),
            tool_calls=list(answer.tool_calls) or None,
            reasoning=answer.reasoning,
            reasoning_details=list(answer.reasoning_details) or None,
        )
        return [*self.conversation, turn]


class ResponseStore:
    """Stored responses in Redis, and how a stored one stands (from its job while it runs)."""

    def __init__(self, redis: Redis, keys: RedisKeys, jobs: JobStore) -> None:
        self.redis = redis
        self.keys = keys
        self.jobs = jobs

    async def save(self, owner: str, record: StoredResponse) -> None:
        key = self.keys.response(owner, record.shell.id)
        await self.redis.set(key, record.model_dump_json(), ex=self.keys.response_ttl_s)

    async def finish(self, owner: str, record: StoredResponse, outcome: ResponseOutcome) -> None:
        """Write the outcome, if the response is still stored (never bring a deleted one
        back); a lost Redis is logged: the job still has the answer for a while."""
        finished = record.model_copy(update={"outcome": outcome})
        key = self.keys.response(owner, record.shell.id)
        try:
            await self.redis.set(key, finished.model_dump_json(), xx=True, keepttl=True)
        except REDIS_FAILURES:
            log.warning("storing the outcome of %s lost Redis", record.shell.id, exc_info=True)

    async def load(self, owner: str, response_id: str) -> StoredResponse:
        """The stored response, or ResponseNotFound."""
        raw = await self.redis.get(self.keys.response(owner, response_id))
        if raw is None:
            raise ResponseNotFound(f"Response with id '{response_id}' not found.")
        return StoredResponse.model_validate_json(raw)

    async def delete(self, owner: str, response_id: str) -> None:
        if not await self.redis.delete(self.keys.response(owner, response_id)):
            raise ResponseNotFound(f"Response with id '{response_id}' not found.")

    async def standing(
        self, owner: str, record: StoredResponse
    ) -> tuple[ResponseStatus, ResponseOutcome | None]:
        """Where the response stands: its outcome once it has one (taken from the finished job
        and written down the first time), else queued or in progress."""
        if record.outcome is not None:
            return record.outcome.status, record.outcome
        job = await self.jobs.load(record.job_id)
        if job is None:
            failure = ResponseFailure(
                code="job_not_found", message="the response's job expired before it was read"
            )
            return ResponseStatus.FAILED, ResponseOutcome(
                status=ResponseStatus.FAILED, error=failure
            )
        outcome = ResponseOutcome.of_job(job)
        if outcome is None:
            queued = job.status is JobStatus.QUEUED
            return (ResponseStatus.QUEUED if queued else ResponseStatus.IN_PROGRESS), None
        await self.finish(owner, record, outcome)
        return outcome.status, outcome

    async def history(self, owner: str, previous_id: str | None) -> list[ChatMessage]:
        """The conversation ``previous_response_id`` continues (none without one)."""
        if previous_id is None:
            return []
        try:
            record = await self.load(owner, previous_id)
        except ResponseNotFound as exc:
            raise PreviousResponseNotFound(
                f"Previous response with id '{previous_id}' not found.",
                details={"param": "previous_response_id"},
            ) from exc
        _, outcome = await self.standing(owner, record)
        if outcome is None:
            raise ResponseInProgress(
                f"Previous response with id '{previous_id}' has not finished yet.",
                details={"param": "previous_response_id"},
            )
        return record.history(outcome)
