"""What a worker tells about the jobs it runs: metrics, spans (the OpenTelemetry gen_ai
conventions on provider attempts) and log lines, from the points where the facts are known.

The runner and the route streamer call an observer at each of those points and know nothing of
Prometheus or OpenTelemetry; one ``JobTelemetry`` per worker process keeps the per-job state.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from shared.config import RouteStep
from shared.errors import ProviderError
from shared.jobs import JobSpec
from shared.settings import Settings
from shared.telemetry import CURRENT
from shared.tracing import Tracing
from shared.usage import Usage
from workers.metrics import WorkerMetrics

if TYPE_CHECKING:
    from opentelemetry.trace import Span

log = logging.getLogger(__name__)

NO_PROVIDER = "none"


class JobOutcome(StrEnum):
    """How a job run by this worker ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"  # it ended elsewhere while it ran (expired, ended by the gateway)


@dataclass(slots=True)
class JobReport:
    """Where the outcome of the job run in this context is left for the Celery task."""

    outcome: JobOutcome | None = None
    code: str | None = None


# Set by the runtime around a job started by a Celery task; batch requests have none.
REPORT: ContextVar[JobReport | None] = ContextVar("llm_gateway_job_report", default=None)


class JobObserver(Protocol):
    """The route streamer's view: one call per provider attempt's end, and per fallback."""

    def attempt_started(self, step: RouteStep) -> None: ...

    def attempt_succeeded(
        self, step: RouteStep, ttft_s: float | None, usage: Usage | None
    ) -> None: ...

    def attempt_failed(self, step: RouteStep, error: ProviderError) -> None: ...

    def fell_back(self, step: RouteStep, code: str, following: RouteStep | None) -> None: ...


class NullObserver:
    """Observes nothing (a streamer built without telemetry, as in unit tests)."""

    def attempt_started(self, step: RouteStep) -> None:
        pass

    def attempt_succeeded(self, step: RouteStep, ttft_s: float | None, usage: Usage | None) -> None:
        pass

    def attempt_failed(self, step: RouteStep, error: ProviderError) -> None:
        pass

    def fell_back(self, step: RouteStep, code: str, following: RouteStep | None) -> None:
        pass


@dataclass(slots=True)
class JobWatch:
    """One running job, from its claim to its end."""

    telemetry: JobTelemetry
    spec: JobSpec
    claimed_at: float = field(default_factory=time.monotonic)
    provider: str = NO_PROVIDER  # the step last tried; the one that answered, on success
    span: Span | None = None
    attempt: Span | None = None
    attempt_started_at: float = 0.0

    def attempt_started(self, step: RouteStep) -> None:
        self.provider = step.provider
        self.attempt_started_at = time.monotonic()
        self._end_attempt()
        tracing = self.telemetry.tracing
        if tracing.enabled:
            self.attempt = tracing.start_span(
                f"chat {step.model}",
                kind="client",
                parent=tracing.context_from({}, span=self.span),
                attributes=self.telemetry.gen_ai_attributes(step),
            )

    def attempt_succeeded(self, step: RouteStep, ttft_s: float | None, usage: Usage | None) -> None:
        metrics, model = self.telemetry.metrics, self.spec.model
        metrics.attempts.labels(model=model, provider=step.provider, result="ok").inc()
        if ttft_s is not None:
            metrics.time_to_first_token.labels(model=model, provider=step.provider).observe(ttft_s)
        if self.attempt is not None:
            if ttft_s is not None:
                self.attempt.set_attribute("gen_ai.server.time_to_first_token", ttft_s)
            if usage is not None:
                self.attempt.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                self.attempt.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        self._end_attempt()

    def attempt_failed(self, step: RouteStep, error: ProviderError) -> None:
        metrics, model = self.telemetry.metrics, self.spec.model
        metrics.attempts.labels(model=model, provider=step.provider, result="error").inc()
        metrics.provider_errors.labels(model=model, provider=step.provider, code=error.code).inc()
        log.info("%s/%s failed: %s", step.provider, step.model, error.code)
        if self.attempt is not None:
            from opentelemetry.trace import Status, StatusCode

            self.attempt.set_attribute("error.type", error.code)
            self.attempt.set_status(Status(StatusCode.ERROR, error.code))
        self._end_attempt()

    def fell_back(self, step: RouteStep, code: str, following: RouteStep | None) -> None:
        self.telemetry.metrics.fallbacks.labels(
            model=self.spec.model, provider=step.provider, reason=code
        ).inc()
        if self.span is not None:
            self.span.add_event(
                "llm_gateway.fallback",
                {
                    "llm_gateway.provider": step.provider,
                    "gen_ai.request.model": step.model,
                    "error.type": code,
                    "llm_gateway.next_provider": following.provider if following else "",
                },
            )

    def _end_attempt(self) -> None:
        if self.attempt is not None:
            self.attempt.end()
            self.attempt = None


class JobTelemetry:
    """The worker's telemetry; one per process, shared by every job it runs."""

    def __init__(
        self, settings: Settings, metrics: WorkerMetrics, tracing: Tracing, queue: str
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.tracing = tracing
        self.queue = queue
        self._jobs: dict[str, JobWatch] = {}
        metrics.watch_running(lambda: len(self._jobs))

    @classmethod
    def unobserved(cls, settings: Settings) -> JobTelemetry:
        """Metrics nobody serves and no traces (a runner built by a test)."""
        return cls(settings, WorkerMetrics(), Tracing(), queue="")

    def claimed(self, spec: JobSpec) -> None:
        """The job is this worker's now: its wait in the queue is over."""
        watch = self._jobs[spec.id] = JobWatch(self, spec)
        waited_s = max(0.0, time.time() - spec.created_at)
        self.metrics.queue_wait.labels(model=spec.model, queue=self.queue).observe(waited_s)
        if self.tracing.enabled:
            context = CURRENT.get()
            parent = self.tracing.context_from(context.trace if context else {})
            now_ns = time.time_ns()
            queued = self.tracing.start_span(
                "queue wait",
                kind="consumer",
                parent=parent,
                start_time_ns=int(spec.created_at * 1e9),
                attributes={"messaging.destination.name": self.queue},
            )
            if queued is not None:
                queued.end(end_time=now_ns)
            watch.span = self.tracing.start_span(
                f"job {spec.model}",
                kind="consumer",
                parent=parent,
                attributes={
                    "llm_gateway.job_id": spec.id,
                    "llm_gateway.model": spec.model,
                    "messaging.destination.name": self.queue,
                },
            )
        log.info("job started: model %s, waited %.3f s in the queue", spec.model, waited_s)
        if self.settings.log_prompts:
            log.debug("job request (log_prompts is on): %s", spec.request.model_dump_json())

    def observer(self, job_id: str) -> JobObserver:
        return self._jobs.get(job_id) or NullObserver()

    def ended(
        self,
        job_id: str,
        outcome: JobOutcome,
        *,
        code: str | None = None,
        usage: Usage | None = None,
        cost: float | None = None,
    ) -> None:
        """The job's last event is written (or, abandoned, was written elsewhere)."""
        watch = self._jobs.pop(job_id, None)
        report = REPORT.get()
        if report is not None:
            report.outcome, report.code = outcome, code
        if watch is None:
            return
        spec, provider = watch.spec, watch.provider
        elapsed_s = time.monotonic() - watch.claimed_at
        metrics = self.metrics
        metrics.jobs.labels(
            model=spec.model, provider=provider, outcome=outcome, code=code or ""
        ).inc()
        metrics.job_duration.labels(model=spec.model, provider=provider, outcome=outcome).observe(
            elapsed_s
        )
        if usage is not None:
            self._count_usage(spec, provider, usage, cost)
        watch._end_attempt()
        if watch.span is not None:
            watch.span.set_attribute("llm_gateway.outcome", str(outcome))
            if code:
                from opentelemetry.trace import Status, StatusCode

                watch.span.set_attribute("error.type", code)
                watch.span.set_status(Status(StatusCode.ERROR, code))
            watch.span.end()
        log.info(
            "job ended: %s%s via %s in %.3f s",
            outcome,
            f" ({code})" if code else "",
            provider,
            elapsed_s,
        )

    def _count_usage(self, spec: JobSpec, provider: str, usage: Usage, cost: float | None) -> None:
        tokens = self.metrics.tokens
        for kind, count in (
            ("input", usage.prompt_tokens),
            ("output", usage.completion_tokens),
            ("cached", usage.cached_tokens),
            ("reasoning", usage.reasoning_tokens),
        ):
            if count:
                tokens.labels(model=spec.model, provider=provider, type=kind).inc(count)
        if cost:
            self.metrics.cost.labels(model=spec.model, provider=provider).inc(cost)
            if self.metrics.key_cost is not None:
                self.metrics.key_cost.labels(key=spec.owner).inc(cost)

    def gen_ai_attributes(self, step: RouteStep) -> dict[str, str]:
        """The gen_ai semantic conventions of one provider call."""
        provider = self.settings.providers.get(step.provider)
        system = GEN_AI_SYSTEMS.get(provider.kind, provider.kind) if provider else step.provider
        return {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": system,
            "gen_ai.provider.name": system,
            "gen_ai.request.model": step.model,
            # Adapters do not report the model that answered; the upstream name asked for.
            "gen_ai.response.model": step.model,
            "llm_gateway.provider": step.provider,
        }


# Adapter kind -> the gen_ai.system value the conventions define for it.
GEN_AI_SYSTEMS = {"openai_compatible": "openai", "anthropic": "anthropic", "deepseek": "deepseek"}
