"""Streams a job from the first step of its route that answers, falling back before the first
token and never after it (no silent splice of two answers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace

from shared.capabilities import Capability
from shared.config import ProviderLimits, RouteStep
from shared.embeddings import EmbeddingRequest
from shared.errors import (
    AllProvidersFailed,
    ProviderError,
    ProviderRejected,
)
from shared.events import DeltaEvent, FallbackEvent, ToolCallDelta
from shared.job_records import JobFields
from shared.jobs import Delivery, JobSpec
from shared.limits import RateLimiter, estimate_tokens
from shared.provider_health import Permission, ProviderHealth
from shared.routing import Attempt, SkipReason, missing_for, required_by
from workers.delta_writer import DeltaWriter
from workers.fallback import Move, next_move
from workers.job_events import JobEvents
from workers.providers.base import EmbeddingCall, ProviderCall
from workers.providers.registry import ProviderPool
from workers.redaction import FilterSet
from workers.telemetry import JobObserver, NullObserver
from workers.transcript import Transcript


class RouteStreamer:
    """One job's trip down its route."""

    def __init__(
        self,
        *,
        spec: JobSpec,
        events: JobEvents,
        transcript: Transcript,
        providers: ProviderPool,
        health: ProviderHealth,
        limiter: RateLimiter,
        provider_limits: Mapping[str, ProviderLimits],
        filters: FilterSet | None = None,
        observer: JobObserver | None = None,
        delta_interval_s: float = 0.0,
    ) -> None:
        self.observer = observer or NullObserver()
        self.limiter = limiter
        self.provider_limits = provider_limits
        self.spec = spec
        self._redactors = (filters.redactor(), filters.redactor()) if filters else None
        self.events = events
        self.transcript = transcript
        self.providers = providers
        self.health = health
        self.attempts = transcript.attempts
        self._needs = required_by(spec.request)
        self._announced = False
        # A job whose reader waits for the whole answer stores it with its done event.
        transcript.writer = DeltaWriter(
            self._append_delta, delta_interval_s, hold=spec.delivery is Delivery.WHOLE
        )

    async def run(self) -> None:
        """Stream until one step succeeds; raises the error that ends the job otherwise. A
        start event still held back is left for the job's last event (``JobEvents.settle``)."""
        route, index, attempt = self.spec.route, 0, 1
        while index < len(route):
            step = route[index]
            missing = missing_for(step, self._needs)
            if missing:
                await self._skip(step, index, SkipReason.CAPABILITY_UNSUPPORTED, missing)
                index += 1
                continue
            if attempt == 1 and await self._circuit_open(step):
                await self._skip(step, index, SkipReason.CIRCUIT_OPEN)
                index += 1
                continue
            wait_s = await self._take_quota(step)
            if wait_s is not None:  # the provider is at its quota: unavailable for now
                if index + 1 < len(route):
                    await self._skip(step, index, SkipReason.PROVIDER_SATURATED)
                    index += 1
                else:
                    await asyncio.sleep(wait_s)  # the last option: wait (the deadline holds)
                continue
            try:
                await self._try(step)
                return
            except ProviderError as error:
                move = await self._after_failure(step, error, index, attempt)
            finally:
                if self._limits_of(step).any:
                    await self.limiter.release_provider(step.provider, self.spec.id)
            if move.index == index:
                attempt += 1
                await asyncio.sleep(move.wait_s)
            else:
                index, attempt = move.index, 1
        raise self._final_error(None)

    async def _try(self, step: RouteStep) -> None:
        if not self._announced:
            self.events.announce_start(step.provider, step.model)
            self._announced = True
        request = self.spec.request
        extra_body = {**step.extra_body, **(request.extra_body or {})}
        if isinstance(request, EmbeddingRequest):
            await self._embed(step, EmbeddingCall(step.model, request, extra_body))
        else:
            call = ProviderCall(step.model, request, extra_body)
            # Nobody reads a WHOLE job's tokens as they come: the adapter may ask for one answer.
            if self.spec.delivery is Delivery.WHOLE:
                call = replace(call, whole=self.providers.get(step.provider).answers_whole(call))
            await self._stream(step, call)

    async def _embed(self, step: RouteStep, call: EmbeddingCall) -> None:
        self.observer.attempt_started(step)
        started = time.monotonic()
        embedded = await self.providers.get(step.provider).embed(call)
        took_s = time.monotonic() - started
        transcript = self.transcript
        transcript.embeddings, transcript.usage, transcript.step = (
            embedded.embeddings,
            embedded.usage,
            step,
        )
        self.observer.attempt_succeeded(step, took_s, embedded.usage)
        await self.health.record(step.provider, step.model, ok=True, ttft_s=took_s)

    async def _stream(self, step: RouteStep, call: ProviderCall) -> None:
        provider = self.providers.get(step.provider)
        transcript = self.transcript
        transcript.step = step  # the step whose output an ending charges, even a failed one
        self.observer.attempt_started(step)
        started = time.monotonic()
        ttft_s: float | None = None
        async with aclosing(provider.stream(call)) as chunks:
            async for chunk in chunks:
                if chunk.has_text:
                    ttft_s = ttft_s if ttft_s is not None else time.monotonic() - started
                    content, reasoning = self._filtered(chunk.content, chunk.reasoning)
                    # Tool-call arguments are not filtered: a redaction would break their JSON.
                    await self._deliver(content, reasoning, chunk.tool_calls)
                transcript.reasoning_details += chunk.reasoning_details
                transcript.finish_reason = chunk.finish_reason or transcript.finish_reason
                transcript.usage = chunk.usage or transcript.usage
        if self._redactors is not None:
            await self._deliver(self._redactors[0].flush(), self._redactors[1].flush(), ())
        if call.whole:
            ttft_s = None  # the whole answer's time, not a first token's
        self.observer.attempt_succeeded(step, ttft_s, transcript.usage)
        await self.health.record(step.provider, step.model, ok=True, ttft_s=ttft_s)

    def _filtered(self, content: str, reasoning: str) -> tuple[str, str]:
        if self._redactors is None:
            return content, reasoning
        return self._redactors[0].feed(content), self._redactors[1].feed(reasoning)

    async def _deliver(
        self, content: str, reasoning: str, tool_calls: Sequence[ToolCallDelta]
    ) -> None:
        if not (content or reasoning or tool_calls):
            return
        transcript, writer = self.transcript, self.transcript.writer
        assert writer is not None
        if transcript.has_output:
            writer.put(content, reasoning, tool_calls)
        else:
            await writer.put_and_store(content, reasoning, tool_calls)
        transcript.add(content, reasoning, tool_calls)

    async def _after_failure(
        self, step: RouteStep, error: ProviderError, index: int, attempt: int
    ) -> Move:
        self.observer.attempt_failed(step, error)
        # A rejected request or a too-long prompt says nothing about the provider's health.
        if not isinstance(error, ProviderRejected):
            await self.health.record(step.provider, step.model, ok=False)
        if self.transcript.has_output:
            raise error  # after the first token: the stream ends with this error, no splice
        self.attempts.append(Attempt.failed(step, error))
        route = self.spec.route
        move = next_move(error, route, index, attempt, self.spec.deadline_at - time.time())
        if move is None:
            raise self._final_error(error) from error
        if move.index != index:  # a retry of the same step is no fallback
            self.observer.fell_back(step, error.code, route[move.index])
        await self._announce_fallback(
            step, error.code, error.message, route[move.index], wait_s=move.wait_s
        )
        return move

    def _limits_of(self, step: RouteStep) -> ProviderLimits:
        return self.provider_limits.get(step.provider) or ProviderLimits()

    async def _take_quota(self, step: RouteStep) -> float | None:
        """None when the provider may be called now; else how long to wait for its quota."""
        limits = self._limits_of(step)
        if not limits.any:
            return None
        decision = await self.limiter.admit_provider(
            step.provider,
            limits,
            job_id=self.spec.id,
            until=self.spec.deadline_at,
            tokens=self.spec.tokens_estimate or estimate_tokens(self.spec.request),
        )
        return None if decision.admitted else min(max(decision.retry_after_s, 0.05), 1.0)

    async def _circuit_open(self, step: RouteStep) -> bool:
        return await self.health.permission(step.provider, step.model) is Permission.OPEN

    async def _skip(
        self,
        step: RouteStep,
        index: int,
        reason: SkipReason,
        missing: list[Capability] | None = None,
    ) -> None:
        """Pass over a step that cannot serve now; say so if the client was told it was next."""
        self.attempts.append(Attempt.passed_over(step, reason, missing))
        self.observer.fell_back(step, reason, None)
        if not self._announced:
            return
        following = self.spec.route[index + 1] if index + 1 < len(self.spec.route) else None
        await self._announce_fallback(step, reason, reason.explanation, following)

    async def _announce_fallback(
        self,
        step: RouteStep,
        code: str,
        reason: str,
        following: RouteStep | None,
        *,
        wait_s: float = 0.0,
    ) -> None:
        """A ``fallback`` event: which step failed or was passed over, why, and what comes next."""
        await self.events.after_start(
            FallbackEvent(
                provider=step.provider,
                model=step.model,
                code=code,
                reason=reason,
                next_provider=following.provider if following else None,
                next_model=following.model if following else None,
                wait_s=round(wait_s, 3),
            ),
            JobFields(provider=following.provider, provider_model=following.model)
            if following
            else None,
        )

    def _final_error(self, last: ProviderError | None) -> ProviderError:
        """One error naming every attempt; a lone attempt's own error keeps its code."""
        tried = [a for a in self.attempts if a.skipped is None]
        attempts = {"attempts": [a.to_dict() for a in self.attempts]}
        if last is not None and (len(tried) == 1 or not last.retryable):
            last.details = attempts
            return last
        summary = "; ".join(f"{a.provider}/{a.model}: {a.outcome}" for a in self.attempts)
        return AllProvidersFailed(
            f"every provider of the route failed ({summary})", details=attempts
        )

    async def _append_delta(self, delta: DeltaEvent, first_at: float | None) -> None:
        await self.events.after_start(
            delta, JobFields(first_token_at=first_at) if first_at is not None else None
        )
