"""Prometheus metrics of one gateway process, in a registry of its own (passed in, not global)."""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, generate_latest

CacheOutcome = Literal["hit", "miss", "coalesced"]


class GatewayMetrics:
    """What ``GET /metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cache_requests = Counter(
            "llm_gateway_cache_requests",
            "Cacheable requests by outcome: answered from the cache (hit), joined to an "
            "identical request in flight (coalesced), or sent to a provider (miss).",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.cache_saved_tokens = Counter(
            "llm_gateway_cache_saved_tokens",
            "Provider tokens not bought again thanks to cache hits.",
            ["model"],
            registry=self.registry,
        )

    def count_cache(self, model: str, outcome: CacheOutcome) -> None:
        self.cache_requests.labels(model=model, outcome=outcome).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
