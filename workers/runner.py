"""Runs one job: claim it, stream from its provider, append every event, end it exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from redis.exceptions import RedisError

from shared.errors import DeadlineExceeded, GatewayError, ServiceUnavailable, WorkerLost
from shared.events import EventType
from shared.jobs import JobSpec, JobStatus, Usage
from shared.jobstore import Claim, JobStore
from shared.settings import Settings
from workers.cancel import CancelRegistry
from workers.delta_writer import DeltaWriter
from workers.providers.base import ProviderCall
from workers.providers.registry import ProviderPool

log = logging.getLogger(__name__)


class JobGone(Exception):
    """The job ended elsewhere (cancelled while queued, or expired): stop working on it."""


@dataclass(slots=True)
class Transcript:
    """What the provider sent: the result if all goes well, the ``delivered`` note if not."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    writer: DeltaWriter | None = None

    def delivered(self) -> dict[str, int]:
        if self.writer is None:
            return {"deltas": 0, "content_chars": 0, "reasoning_chars": 0}
        return self.writer.delivered()

    async def settle(self, *, flush: bool) -> None:
        """Before the job's last event: store the deltas already read, or drop them."""
        if self.writer is None:
            return
        if flush:
            await self.writer.close()
        else:
            await self.writer.abort()


class JobRunner:
    """Executes jobs on the worker's event loop; one instance per worker process."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: JobStore,
        providers: ProviderPool,
        cancels: CancelRegistry,
        worker_id: str,
    ) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.cancels = cancels
        self.worker_id = worker_id

    async def run(self, job_id: str) -> None:
        """Run the job if this delivery should; a duplicate delivery does nothing."""
        with self.cancels.track(job_id):
            claim = await self.store.claim(job_id, self.worker_id)
            if claim.spec is None:
                log.info("job %s not run: %s", job_id, claim.state)
                return
            try:
                await self._run_claimed(claim)
            finally:
                await asyncio.shield(self.store.release(job_id))

    async def _run_claimed(self, claim: Claim) -> None:
        assert claim.spec is not None
        spec = claim.spec
        transcript = Transcript()
        if claim.cancel_requested:
            await self._end_cancelled(spec.id, transcript)
            return
        if claim.state == "resumed" and claim.tokens_delivered:
            # Its worker died mid-stream: starting over would splice two answers together.
            await self._fail(spec.id, WorkerLost("the worker running this job died"), transcript)
            return
        remaining_s = spec.deadline_at - time.time()
        try:
            async with asyncio.timeout(remaining_s):
                await self._stream(spec, transcript)
        except asyncio.CancelledError:
            await transcript.settle(flush=False)
            if not self.cancels.is_cancelled(spec.id):
                raise  # the worker is shutting down: the task will be redelivered
            _consume_cancellation()
            await self._end_cancelled(spec.id, transcript)
        except TimeoutError:
            await transcript.settle(flush=False)
            await self._fail(spec.id, DeadlineExceeded("the job ran past its deadline"), transcript)
        except JobGone:
            await transcript.settle(flush=False)
            log.info("job %s ended elsewhere while it ran", spec.id)
        except GatewayError as exc:
            await self._fail_after_flush(spec.id, exc, transcript)
        except RedisError:
            log.exception("job %s lost Redis", spec.id)
            await transcript.settle(flush=False)
            await self._fail(spec.id, ServiceUnavailable("the worker lost Redis"), transcript)
        except Exception:
            log.exception("job %s failed unexpectedly", spec.id)
            await transcript.settle(flush=False)
            await self._fail(spec.id, GatewayError("the worker failed"), transcript)

    async def _stream(self, spec: JobSpec, transcript: Transcript) -> None:
        step = next(
            s
            for s in self.settings.models[spec.model].route
            if self.settings.providers[s.provider].enabled
        )
        provider = self.providers.get(step.provider)
        # The start event is stored while the provider call opens: one round trip fewer before
        # the first token. The delta writer waits for it, so seqs stay in order.
        started = asyncio.create_task(
            self._append(
                spec.id,
                EventType.START,
                {"provider": step.provider, "model": step.model},
                job_fields={"provider": step.provider, "provider_model": step.model},
            )
        )
        writer = transcript.writer = DeltaWriter(partial(self._append_delta, spec.id, started))
        call = ProviderCall(model=step.model, request=spec.request)
        try:
            async with aclosing(provider.stream(call)) as chunks:
                async for chunk in chunks:
                    if chunk.has_text:
                        writer.put(chunk.content, chunk.reasoning)
                        transcript.content.append(chunk.content)
                        transcript.reasoning.append(chunk.reasoning)
                    transcript.finish_reason = chunk.finish_reason or transcript.finish_reason
                    transcript.usage = chunk.usage or transcript.usage
            await writer.close()
            await started
        finally:
            await asyncio.wait([started])  # nothing is appended before the start event
            if not started.cancelled():
                started.exception()  # when another error is on its way, that one is reported
        await self._end_succeeded(spec, transcript)

    async def _append_delta(
        self, job_id: str, started: asyncio.Task[None], fields: dict[str, str], first: bool
    ) -> None:
        await started
        await self._append(
            job_id,
            EventType.DELTA,
            fields,
            job_fields={"first_token_at": time.time()} if first else None,
        )

    async def _end_succeeded(self, spec: JobSpec, transcript: Transcript) -> None:
        usage = transcript.usage or _estimate_usage(spec, transcript)
        usage_json = usage.model_dump(mode="json")
        result = {
            "content": "".join(transcript.content),
            "reasoning": "".join(transcript.reasoning) or None,
            "finish_reason": transcript.finish_reason or "stop",
        }
        await self._append(
            spec.id,
            EventType.DONE,
            {"finish_reason": result["finish_reason"], "usage": usage_json, "cost": None},
            ends_as=JobStatus.SUCCEEDED,
            job_fields={
                "result": orjson.dumps(result).decode(),
                "usage": orjson.dumps(usage_json).decode(),
                "finished_at": time.time(),
            },
        )

    async def _end_cancelled(self, job_id: str, transcript: Transcript) -> None:
        await self.store.append(
            job_id,
            EventType.ERROR,
            {
                "code": "cancelled",
                "message": "the job was cancelled",
                "retryable": False,
                "delivered": transcript.delivered(),
            },
            ends_as=JobStatus.CANCELLED,
            job_fields={"finished_at": time.time()},
        )

    async def _fail_after_flush(
        self, job_id: str, error: GatewayError, transcript: Transcript
    ) -> None:
        """A provider failure: what it sent before failing is delivered, then the error."""
        try:
            await transcript.settle(flush=True)
        except JobGone:
            return
        await self._fail(job_id, error, transcript)

    async def _fail(self, job_id: str, error: GatewayError, transcript: Transcript) -> None:
        body = {**error.to_dict(), "delivered": transcript.delivered()}
        await self.store.append(
            job_id,
            EventType.ERROR,
            body,
            ends_as=JobStatus.FAILED,
            job_fields={"error": orjson.dumps(body).decode(), "finished_at": time.time()},
        )

    async def _append(
        self,
        job_id: str,
        event_type: EventType,
        fields: dict[str, Any],
        *,
        ends_as: JobStatus | None = None,
        job_fields: dict[str, str | float | int] | None = None,
    ) -> None:
        seq = await self.store.append(
            job_id, event_type, fields, ends_as=ends_as, job_fields=job_fields
        )
        if seq <= 0:
            raise JobGone(job_id)


def _consume_cancellation() -> None:
    """Mark the cancellation handled so the job's own clean-up awaits run normally."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _estimate_usage(spec: JobSpec, transcript: Transcript) -> Usage:
    """Rough counts (four characters a token) for a provider that reported none."""
    prompt = sum(len(m.content) for m in spec.request.messages) // 4 + 1
    completion = sum(map(len, transcript.content + transcript.reasoning)) // 4 + 1
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        estimated=True,
    )
