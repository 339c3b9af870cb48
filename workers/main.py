"""Starting a worker process: the Celery consumer on a threads pool, plus the job runtime."""

from __future__ import annotations

import os
import socket
import uuid
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning

from shared.queue import RUN_BATCH_TASK, RUN_JOB_TASK, create_celery
from shared.settings import Settings
from workers import broker
from workers.consumer import ConsumerPulse
from workers.runtime import WorkerRuntime


def register_tasks(app: Celery, runtime: WorkerRuntime) -> None:
    """The job task: it takes a job id and runs that job on the runtime's loop; and the batch
    wake-up, which returns at once (the batch runs on the loop under its lease)."""

    @app.task(name=RUN_JOB_TASK, acks_late=True, ignore_result=True)
    def run_job(job_id: str) -> None:
        runtime.run_job(job_id)

    @app.task(name=RUN_BATCH_TASK, acks_late=True, ignore_result=True)
    def run_batch(batch_id: str) -> None:
        runtime.wake_batch(batch_id)


def run_worker(
    settings: Settings,
    *,
    queues: list[str] | None = None,
    concurrency: int | None = None,
    loglevel: str = "INFO",
    quiet: bool = False,
) -> int:
    """Consume until told to stop; returns the exit code. ``quiet``: no banner, and no
    warning about running as root (containers and ``up`` often do; tasks take JSON only)."""
    if quiet:
        warnings.filterwarnings("ignore", category=SecurityWarning)
    app = create_celery(settings)
    app.conf.worker_consumer = "workers.consumer:BatchedEventsConsumer"
    # A worker outlives any broker outage (its liveness probe says when it no longer consumes).
    app.conf.broker_connection_max_retries = None
    if settings.celery_broker_url.startswith(("redis://", "rediss://", "unix://")):
        app.conf.broker_transport = broker.TRANSPORT  # survives a broker restart (see there)
    pulse = ConsumerPulse()
    app.steps["consumer"].add(pulse.step())
    hostname = f"llm-worker-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    queues = queues or [settings.interactive_queue]
    if settings.batch.queue in queues and settings.batch.nice:
        # Where batch and interactive processes share CPUs, interactive ones come first.
        os.nice(settings.batch.nice)
    runtime = WorkerRuntime(
        settings, worker_id=hostname, queues=queues, celery=app, consuming=pulse.fresh
    )
    register_tasks(app, runtime)
    runtime.start()
    try:
        worker = app.Worker(
            hostname=hostname,
            pool="threads",
            concurrency=concurrency or settings.worker_concurrency,
            queues=queues,
            loglevel=loglevel,
            without_mingle=True,
            without_gossip=True,
            quiet=quiet,
        )
        worker.start()
        return int(worker.exitcode or 0)
    finally:
        runtime.stop()
