"""What a job that did not succeed is charged: the usage its provider reported, else an estimate
of what was generated (marked estimated), priced like any answer and charged with its last
event. And ending a job nobody runs any more (its worker died, its deadline passed) that way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from shared.accounting import Accounting, Charge, utc_day
from shared.chat import ChatRequest
from shared.config import Price, price_at
from shared.embeddings import EmbeddingRequest
from shared.errors import GatewayError
from shared.events import Delivered, DeltaEvent, DoneEvent, ErrorEvent, Event, UsageEvent
from shared.job_records import JobFields
from shared.jobs import Job, JobStatus
from shared.jobstore import JobStore
from shared.limits import estimate_prompt_tokens, estimate_text_tokens
from shared.usage import Usage

Prices = Mapping[str, Mapping[str, list[Price]]]


def cost_of(prices: Prices, provider: str, model: str, usage: Usage) -> float | None:
    """The usage's cost at the price in force today, None when the model has no price."""
    price = price_at(list(prices.get(provider, {}).get(model, [])), utc_day(time.time()))
    return price.cost(usage) if price else None


def estimated_usage(request: ChatRequest | EmbeddingRequest, output: str) -> Usage:
    """Prompt and output tokens estimated as admission estimates them."""
    prompt = estimate_prompt_tokens(request)
    completion = estimate_text_tokens(output) if output else 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        estimated=True,
    )


def usage_of_events(request: ChatRequest | EmbeddingRequest, events: list[Event]) -> Usage | None:
    """The usage the provider reported in the job's events, else an estimate of the output they
    carry; None when nothing was generated."""
    for event in reversed(events):
        if isinstance(event.body, UsageEvent | DoneEvent):
            return event.body.usage
    text: list[str] = []
    for event in events:
        body = event.body
        if isinstance(body, DeltaEvent) and body.has_output:
            text += (body.content, body.reasoning, *(c.arguments for c in body.tool_calls))
    return estimated_usage(request, "".join(text)) if text else None


def delivered_of(events: list[Event]) -> Delivered:
    """What the job's readers were sent, for its error event."""
    deltas = [e.body for e in events if isinstance(e.body, DeltaEvent)]
    return Delivered(
        deltas=len(deltas),
        content_chars=sum(len(d.content) for d in deltas),
        reasoning_chars=sum(len(d.reasoning) for d in deltas),
    )


class JobEnder:
    """Charges unsuccessful endings; ends a job its worker no longer runs, charged likewise."""

    def __init__(self, store: JobStore, accounting: Accounting, prices: Prices) -> None:
        self.store = store
        self.accounting = accounting
        self.prices = prices

    def charge(
        self,
        *,
        owner: str,
        model: str,
        provider: str | None,
        provider_model: str | None,
        usage: Usage | None,
    ) -> Charge | None:
        """The charge of an unsuccessful ending; None when nothing reached a provider."""
        if usage is None or provider is None or provider_model is None:
            return None
        return self.accounting.charge(
            owner=owner,
            model=model,
            provider=provider,
            usage=usage,
            cost=cost_of(self.prices, provider, provider_model, usage),
            succeeded=False,
        )

    async def fail(
        self,
        job_id: str,
        error: GatewayError,
        *,
        holder: str | None = None,
        only_if: JobStatus | None = None,
    ) -> int:
        """End the job with ``error``, charging what its events show was generated. Returns the
        append's seq (0: it had ended, or the lease is not ``holder``'s)."""
        job = await self.store.load(job_id)
        if job is None or job.status.finished:
            return 0
        events = await self.store.events_after(job_id, 0)
        failure = ErrorEvent.of(error, delivered_of(events))
        return await self.store.append(
            job_id,
            failure,
            ends_as=JobStatus.FAILED,
            only_if=only_if,
            fields=JobFields(error=failure, finished_at=time.time()),
            holder=holder,
            charge=self._charge_job(job, events),
        )

    def _charge_job(self, job: Job, events: list[Event]) -> Charge | None:
        return self.charge(
            owner=job.owner,
            model=job.model,
            provider=job.provider,
            provider_model=job.provider_model,
            usage=usage_of_events(job.request, events),
        )
