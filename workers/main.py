"""Starting a worker process: the Celery consumer on a threads pool, plus the job runtime."""

from __future__ import annotations

import os
import socket
import uuid
import warnings
from typing import Any

from celery import Celery, Task
from celery.exceptions import Ignore, SecurityWarning
from celery.worker.request import Request

from shared.queue import RUN_BATCH_TASK, RUN_JOB_TASK, create_celery
from shared.settings import Settings
from shared.telemetry import CURRENT, HEADER_REQUEST_ID, TRACE_HEADERS, RequestContext
from shared.tracing import Tracing
from workers import broker
from workers.consumer_watch import ConsumerWatch, ConsumerWatchStep
from workers.metrics import WorkerMetrics
from workers.runtime import WorkerRuntime
from workers.task_events import TaskEventsGate, TaskEventsGateStep, install_enable_events_hook
from workers.telemetry import JobOutcome, JobReport, JobTelemetry


class JobFailed(Exception):
    """The job ended with an error event: the task is a FAILURE in Flower (its code only)."""


def worker_name(queues: list[str]) -> str:
    """A Celery node name that says what the worker serves: ``llm.interactive-3fa2c1@host``."""
    return f"{'+'.join(queues)}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"


def job_context(request: Any, job_id: str) -> RequestContext:
    """The request a job came from, as the gateway put it in the task's message headers."""
    request_id = getattr(request, HEADER_REQUEST_ID, None)
    trace = {name: value for name in TRACE_HEADERS if (value := getattr(request, name, None))}
    return RequestContext(request_id=str(request_id or job_id), trace=trace, job_id=job_id)


class JobRequest(Request):
    """A job's task as the consumer receives it. The consumer thread logs "received" next,
    and takes one message at a time: its lines from here on are this job's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        headers = self.request_dict
        request_id = headers.get(HEADER_REQUEST_ID) or self.id
        CURRENT.set(RequestContext(request_id=str(request_id), job_id=self.id))


def settle_task(task: Task[Any, Any], report: JobReport, gate: TaskEventsGate) -> None:
    """Make the Celery task's state tell the job's outcome: a cancelled job is REVOKED, a
    failed one a FAILURE (acknowledged all the same: it is never run again)."""
    if report.outcome is JobOutcome.CANCELLED:
        if gate.wanted():
            task.send_event("task-revoked", terminated=False, signum=None, expired=False)
        raise Ignore()
    if report.outcome in (JobOutcome.FAILED, JobOutcome.ABANDONED):
        raise JobFailed(f"{report.outcome}: {report.code or 'ended elsewhere'}")


def register_tasks(app: Celery, runtime: WorkerRuntime, gate: TaskEventsGate) -> None:
    """The job task: it takes a job id and runs that job on the runtime's loop; and the batch
    wake-up, which returns at once (the batch runs on the loop under its lease)."""

    @app.task(
        name=RUN_JOB_TASK,
        bind=True,
        acks_late=True,
        ignore_result=True,
        throws=(JobFailed,),
        Request=JobRequest,
    )
    def run_job(self: Task[Any, Any], job_id: str) -> None:
        context = job_context(self.request, job_id)
        # This pool thread's lines (Celery's "succeeded" among them) belong to this job.
        CURRENT.set(context)
        settle_task(self, runtime.run_job(job_id, context), gate)

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
    tracing: Tracing | None = None,
) -> int:
    """Consume until told to stop; returns the exit code. ``quiet``: no banner, and no
    warning about running as root (containers and ``up`` often do; tasks take JSON only)."""
    if quiet:
        warnings.filterwarnings("ignore", category=SecurityWarning)
    app = create_celery(settings)
    app.conf.worker_consumer = "workers.consumer:BatchedEventsConsumer"
    app.steps["consumer"].add(ConsumerWatchStep)
    app.steps["consumer"].add(TaskEventsGateStep)
    install_enable_events_hook()
    # A worker outlives any broker outage (its liveness probe says when it no longer consumes).
    app.conf.broker_connection_max_retries = None
    broker.use_for_workers(app, settings)
    queues = queues or [settings.interactive_queue]
    hostname = worker_name(queues)
    if settings.batch.queue in queues and settings.batch.nice:
        # Where batch and interactive processes share CPUs, interactive ones come first.
        os.nice(settings.batch.nice)
    metrics = WorkerMetrics(key_labels=settings.metrics_key_labels)
    if settings.worker_metrics_port is not None:
        metrics.serve(settings.worker_metrics_host, settings.worker_metrics_port)
    tracing = tracing or Tracing()
    telemetry = JobTelemetry(settings, metrics, tracing, queue="+".join(queues))
    watch = ConsumerWatch(queues, settings.consumer_stall_s)
    runtime = WorkerRuntime(
        settings, worker_id=hostname, queues=queues, celery=app, telemetry=telemetry, watch=watch
    )
    gate = TaskEventsGate(settings.task_events)
    register_tasks(app, runtime, gate)
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
            consumer_watch=watch,
            task_events_gate=gate,
        )
        worker.start()
        return int(worker.exitcode or 0)
    finally:
        runtime.stop()
        tracing.shutdown()
