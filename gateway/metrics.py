"""Prometheus metrics of one gateway process, in a registry of its own (passed in, not global).

Labels are bounded: route templates (never raw paths), model and provider names from the
config, error codes from the error tree. Key ids appear only with ``metrics_key_labels``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from shared.telemetry import LATENCY_BUCKETS, PREFIX, QUICK_BUCKETS

CacheOutcome = Literal["hit", "miss", "coalesced"]


class StreamTracker:
    """One open completion session, counted in ``active_streams`` until it closes (once)."""

    __slots__ = ("_gauge", "_open")

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._open = True
        gauge.inc()

    def closed(self) -> None:
        if self._open:
            self._open = False
            self._gauge.dec()


class GatewayMetrics:
    """What ``GET /metrics`` exposes; also servable by prometheus_client's own HTTP server
    (``prometheus_client.start_http_server(port, registry=metrics.registry)``)."""

    def __init__(self, *, key_labels: bool = False) -> None:
        self.registry = registry = CollectorRegistry()
        self.key_labels = key_labels
        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests (and WebSocket connections) by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response (a stream's whole life).",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.overhead = Histogram(
            f"{PREFIX}_overhead_seconds",
            "Gateway time before a job is queued (auth, validation, limits, cache lookup, "
            "store and enqueue), or before a cache hit is answered.",
            ["model", "cache"],
            buckets=QUICK_BUCKETS,
            registry=registry,
        )
        self.jobs_submitted = Counter(
            f"{PREFIX}_jobs_submitted",
            "Jobs accepted by the gateway, by model and kind (stream, background, batch).",
            ["model", "kind"],
            registry=registry,
        )
        self.active_streams = Gauge(
            f"{PREFIX}_active_streams",
            "Completion sessions being read now (SSE, OpenAI streams, GraphQL, JSON waits).",
            registry=registry,
        )
        self.subscribers = Gauge(
            f"{PREFIX}_subscribers",
            "Readers waiting on job channels through this process's one pub/sub connection.",
            registry=registry,
        )
        self.rate_limited = Counter(
            f"{PREFIX}_rate_limit_refusals",
            "Requests refused by an API key's rate limit, by the limit that refused them.",
            ["limit"],
            registry=registry,
        )
        self.budget_refused = Counter(
            f"{PREFIX}_budget_refusals",
            "Requests refused because the API key spent its budget, by budget period.",
            ["period"],
            registry=registry,
        )
        self.cache_requests = Counter(
            f"{PREFIX}_cache_requests",
            "Cacheable requests by outcome: answered from the cache (hit), joined to an "
            "identical request in flight (coalesced), or sent to a provider (miss).",
            ["model", "outcome"],
            registry=registry,
        )
        self.cache_saved_tokens = Counter(
            f"{PREFIX}_cache_saved_tokens",
            "Provider tokens not bought again thanks to cache hits.",
            ["model"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth",
            "Jobs waiting in a broker queue that no worker has taken yet (read on scrape).",
            ["queue"],
            registry=registry,
        )
        self.queue_oldest_age = Gauge(
            f"{PREFIX}_queue_oldest_message_age_seconds",
            "Age of the oldest job waiting in a broker queue; 0 when it is empty (read on scrape).",
            ["queue"],
            registry=registry,
        )
        self.queue_unacked = Gauge(
            f"{PREFIX}_queue_unacked_messages",
            "Tasks taken by workers and not yet acknowledged, every queue together (on scrape); "
            "job tasks on the job store's Redis are not among them (their leases cover them).",
            registry=registry,
        )
        self.circuit_state = Gauge(
            f"{PREFIX}_circuit_state",
            "1 for the current state of each (provider, upstream model) circuit breaker "
            "(closed, open, half_open), 0 for the others (read from Redis on scrape).",
            ["provider", "model", "state"],
            registry=registry,
        )
        self.key_requests = (
            Counter(
                f"{PREFIX}_key_requests",
                "Admitted requests by API key id (only with metrics_key_labels).",
                ["key", "model"],
                registry=registry,
            )
            if key_labels
            else None
        )

    def count_cache(self, model: str, outcome: CacheOutcome) -> None:
        self.cache_requests.labels(model=model, outcome=outcome).inc()

    def stream_started(self) -> StreamTracker:
        return StreamTracker(self.active_streams)

    def count_submitted(self, model: str, kind: str, key_id: str) -> None:
        self.jobs_submitted.labels(model=model, kind=kind).inc()
        if self.key_requests is not None:
            self.key_requests.labels(key=key_id, model=model).inc()

    def watch_subscribers(self, count: Callable[[], float]) -> None:
        """Read the subscriber count from the event hub at each scrape."""
        self.subscribers.set_function(count)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
