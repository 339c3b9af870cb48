"""The Celery app both sides build from the settings: the gateway to enqueue, workers to consume.

Settings chosen for long streaming jobs: a task is acknowledged only when it has finished (a
worker killed mid-job leaves it to be delivered again), each worker thread reserves one task at
a time, and the broker's visibility timeout is above the longest job deadline.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from shared.settings import Settings

RUN_JOB_TASK = "llm.run_job"


def create_celery(settings: Settings) -> Celery:
    app = Celery("llm_gateway", broker=settings.celery_broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # results live in the job store, not a Celery backend
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.interactive_queue,
        task_queues=[Queue(settings.interactive_queue)],
        task_create_missing_queues=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        worker_send_task_events=True,  # Flower sees every task
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


def enqueue_job(app: Celery, job_id: str, queue: str) -> None:
    """Send the job to a worker: its id is the only argument (Flower shows task arguments)."""
    app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, task_id=job_id)
