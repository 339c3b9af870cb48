"""Admission: everything a request must pass before it becomes a job, for every front end.

Model routing, the key's allowed models, its budget, the response cache and its rate limits
are checked here, so REST, GraphQL and the OpenAI-compatible API hold them the same way. A
cache hit spends only a request of the key's rate: no tokens, no concurrency slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.auth import Principal
from gateway.jobs import Gateway
from shared.cache import CachedAnswer, CachePlan, plan_cache
from shared.chat import ChatRequest
from shared.embeddings import EmbeddingRequest
from shared.errors import BudgetExceeded, RateLimited
from shared.jobs import Delivery, JobKind, JobSpec
from shared.limits import estimate_tokens


@dataclass(frozen=True, slots=True)
class Admission:
    """An accepted request: the job to run (or its answer, from the cache), and headers to
    answer with (limits, warnings)."""

    spec: JobSpec
    headers: dict[str, str] = field(default_factory=dict)
    cache: CachePlan | None = None
    hit: CachedAnswer | None = None
    # The key's limits counted this job (a concurrency slot, its estimated tokens).
    charged: bool = False


async def admit(
    gateway: Gateway,
    caller: Principal,
    chat: ChatRequest | EmbeddingRequest,
    *,
    kind: JobKind,
    job_id: str | None = None,
    delivery: Delivery = Delivery.LIVE,
) -> Admission:
    """The job for this request; raises the error that refuses it otherwise. ``job_id``: a
    client-chosen id (GraphQL's ``streamId``). ``delivery``: WHOLE where the client waits
    for the whole answer (a JSON response)."""
    spec = gateway.new_spec(chat, owner=caller.key_id, kind=kind, job_id=job_id, delivery=delivery)
    for model in [spec.model, *(chat.models or [])]:
        caller.check_model(model)
    try:
        budget_headers = await gateway.accounting.check_budget(caller.key) if caller.key else {}
    except BudgetExceeded:
        period = caller.key.budget.period if caller.key and caller.key.budget else "unknown"
        gateway.metrics.budget_refused.labels(period=period).inc()
        raise
    plan = plan_cache(gateway.settings.cache, gateway.settings.models[spec.model], spec)
    hit = await gateway.cache.lookup(plan) if plan is not None else None
    admission = Admission(spec, budget_headers, plan, hit)
    if caller.key is None or not caller.key.limits.any:
        return admission
    limits = caller.key.limits
    if hit is not None:
        limits = limits.model_copy(update={"concurrent_jobs": None})
    tokens = 0 if hit is not None else estimate_tokens(chat)
    decision = await gateway.limiter.admit(
        caller.key_id, limits, job_id=spec.id, deadline_at=spec.deadline_at, tokens=tokens
    )
    if not decision.admitted:
        gateway.metrics.rate_limited.labels(limit=decision.refused_by or "unknown").inc()
        raise RateLimited(
            f"the API key's {decision.refused_by} limit is reached; "
            f"retry in {decision.retry_after_s:.1f} s",
            details={"limit": decision.refused_by, "retry_after_s": decision.retry_after_s},
            headers=decision.headers(),
        )
    spec = spec.model_copy(
        update={"tokens_estimate": tokens, "tokens_per_minute": limits.tokens_per_minute}
    )
    headers = {**decision.headers(), **budget_headers}
    return Admission(spec, headers, plan, hit, charged=hit is None)
