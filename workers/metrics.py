"""Prometheus metrics of one worker process, in a registry of its own.

A worker is one process (Celery's threads pool around one event loop), so each process serves
its own registry on its own port (``worker_metrics_port``), scraped per pod. Prometheus'
multiprocess mode is for forking servers whose processes share one port; it writes every
update to a memory-mapped file, which this design does not need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from shared.telemetry import LATENCY_BUCKETS, PREFIX, QUICK_BUCKETS

log = logging.getLogger(__name__)

TOKEN_KINDS = ("input", "output", "cached", "reasoning")


class WorkerMetrics:
    """Jobs, provider attempts, tokens and cost, as the worker that ran them saw them."""

    def __init__(self, *, key_labels: bool = False) -> None:
        self.registry = registry = CollectorRegistry()
        self.jobs = Counter(
            f"{PREFIX}_jobs",
            "Jobs that ended, by model, provider (none if no provider answered), outcome "
            "(succeeded, failed, cancelled, abandoned) and error code (empty unless failed).",
            ["model", "provider", "outcome", "code"],
            registry=registry,
        )
        self.job_duration = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "Time from a job's claim by a worker to its last event.",
            ["model", "provider", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            f"{PREFIX}_queue_wait_seconds",
            "Time from a job's admission by the gateway to its claim by a worker.",
            ["model", "queue"],
            buckets=(*QUICK_BUCKETS, 10.0, 30.0, 60.0, 300.0),
            registry=registry,
        )
        self.time_to_first_token = Histogram(
            f"{PREFIX}_time_to_first_token_seconds",
            "Time from a provider call's start to its first streamed token, per attempt that "
            "produced one.",
            ["model", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.attempts = Counter(
            f"{PREFIX}_provider_attempts",
            "Provider calls by model, provider and result (ok or error).",
            ["model", "provider", "result"],
            registry=registry,
        )
        self.provider_errors = Counter(
            f"{PREFIX}_provider_errors",
            "Failed provider calls by model, provider and error code.",
            ["model", "provider", "code"],
            registry=registry,
        )
        self.fallbacks = Counter(
            f"{PREFIX}_fallbacks",
            "Moves to the next step of a route, by model, the provider left and why.",
            ["model", "provider", "reason"],
            registry=registry,
        )
        self.tokens = Counter(
            f"{PREFIX}_tokens",
            "Tokens of finished jobs by model, provider and type (input, output, and of "
            "those, cached input and reasoning).",
            ["model", "provider", "type"],
            registry=registry,
        )
        self.cost = Counter(
            f"{PREFIX}_cost_usd",
            "Cost of finished jobs in US dollars, at the configured prices.",
            ["model", "provider"],
            registry=registry,
        )
        self.batch_requests = Counter(
            f"{PREFIX}_batch_requests",
            "Batch requests whose result was recorded, by status (completed, failed, ...).",
            ["status"],
            registry=registry,
        )
        self.running_jobs = Gauge(
            f"{PREFIX}_running_jobs", "Jobs this worker process runs now.", registry=registry
        )
        self.consuming = Gauge(
            f"{PREFIX}_worker_consuming",
            "1 while this worker's consumer polls the queue (or is full), 0 when it stalled.",
            ["queue"],
            registry=registry,
        )
        self.key_cost = (
            Counter(
                f"{PREFIX}_key_cost_usd",
                "Cost of finished jobs by API key id (only with metrics_key_labels).",
                ["key"],
                registry=registry,
            )
            if key_labels
            else None
        )

    def watch_running(self, count: Callable[[], float]) -> None:
        self.running_jobs.set_function(count)

    def serve(self, host: str, port: int) -> None:
        """Serve this registry over HTTP from a daemon thread (prometheus_client's server)."""
        start_http_server(port, addr=host, registry=self.registry)
        log.info("worker metrics at http://%s:%d/metrics", host, port)
