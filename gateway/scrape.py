"""Gauges read from Redis when ``/metrics`` is scraped: the broker's queues and the circuit
breakers of every configured (provider, upstream model). Any gateway reports the same values
(they are cluster-wide), so dashboards take ``max`` over gateways."""

from __future__ import annotations

import asyncio
import logging

from gateway.jobs import Gateway
from gateway.metrics import GatewayMetrics
from shared.provider_health import CircuitState, ProviderHealth
from shared.queue_stats import read_queues

log = logging.getLogger(__name__)


def circuit_pairs(gateway: Gateway) -> list[tuple[str, str]]:
    """Every (provider, upstream model) a configured route may call, once each."""
    pairs = {
        (step.provider, step.model)
        for model in gateway.settings.models.values()
        for step in model.route
    }
    return sorted(pairs)


async def refresh(gateway: Gateway, metrics: GatewayMetrics) -> None:
    """Update the scrape-time gauges; a failed read leaves the previous values (the Redis
    check of /api/v1/health tells why)."""
    settings = gateway.settings
    try:
        if gateway.publisher.broker is not None:
            queues = [settings.interactive_queue, settings.batch.queue]
            readings, unacked = await read_queues(gateway.publisher.broker, queues)
            for reading in readings:
                metrics.queue_depth.labels(queue=reading.queue).set(reading.depth)
                metrics.queue_oldest_age.labels(queue=reading.queue).set(reading.oldest_age_s)
            metrics.queue_unacked.set(unacked)
        pairs = circuit_pairs(gateway)
        health = ProviderHealth(gateway.redis, settings.keys, settings.circuit)
        for (provider, model), state in zip(pairs, await health.states(pairs), strict=True):
            for each in CircuitState:
                metrics.circuit_state.labels(provider=provider, model=model, state=each).set(
                    1 if each is state else 0
                )
    except Exception:
        log.warning("reading the queue and circuit gauges failed", exc_info=True)


async def keep_refreshed(gateway: Gateway, interval_s: float = 5.0) -> None:
    """Refresh the gauges now and then, for the keyless listener (``metrics_listen``): it serves
    from its own thread, which cannot read Redis on the gateway's loop at scrape time."""
    while True:
        await refresh(gateway, gateway.metrics)
        await asyncio.sleep(interval_s)
