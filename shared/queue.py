"""The Celery app both sides build from the settings, and how the gateway enqueues a job.

Settings chosen for long streaming jobs: a task is acknowledged only when it has finished (a
worker killed mid-job leaves it to be delivered again), each worker thread reserves one task at
a time, and the broker's visibility timeout is above the longest job deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import Mapping
from typing import Any

import orjson
from celery import Celery
from celery.utils.saferepr import saferepr
from kombu import Queue
from kombu.serialization import dumps
from redis.asyncio import Redis

from shared.settings import Settings, TaskEvents

RUN_JOB_TASK = "llm.run_job"
# Wakes the batch workers for a new batch (its id the only argument); the batch's lease in
# Redis, not this task, keeps it running and moves it to another worker when one dies.
RUN_BATCH_TASK = "llm.run_batch"


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
        # Workers report tasks to Flower while it asks (workers/task_events.py). The gateway's
        # own "task-sent" event would cost every request a second publish and tells Flower
        # nothing the worker does not.
        worker_send_task_events=settings.task_events is TaskEvents.ALWAYS,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


# Message headers of a job's task: the request id, when it was queued, the trace context
# (shared.telemetry names them). Never secrets or content: Flower and the broker show them.
TaskHeaders = Mapping[str, str | float]


def enqueue_job(app: Celery, job_id: str, queue: str, headers: TaskHeaders | None = None) -> None:
    """Send the job to a worker: its id is the only argument (Flower shows task arguments)."""
    app.send_task(
        RUN_JOB_TASK, args=[job_id], queue=queue, task_id=job_id, headers=dict(headers or {})
    )


def redis_broker_message(
    app: Celery, job_id: str, queue: str, headers: TaskHeaders | None = None
) -> bytes:
    """The list entry kombu's Redis transport writes for ``enqueue_job``, built by Celery's own
    message code (the contract test compares the two). Its delivery tag is the job id (kombu's
    is a random one): the broker's unacknowledged-messages hash is keyed by it, so recovery
    finds a job's delivered task in one lookup (``shared/leases.py``)."""
    # A list, as send_task passes it (it shows in argsrepr); the stubs say tuple and bool.
    task = app.amqp.as_task_v2(
        job_id,
        RUN_JOB_TASK,
        args=[job_id],  # type: ignore[arg-type]
        ignore_result=None,  # type: ignore[arg-type]
    )
    task.headers.update(headers or {})
    content_type, content_encoding, body = dumps(task.body, serializer="json")
    assert isinstance(body, str)
    message = {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": task.headers,
        "properties": {
            **task.properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": job_id,
        },
    }
    return orjson.dumps(message)


# A stand-in job id for the message Celery builds once per queue.
PLACEHOLDER = "job-id-placeholder-7c1e"
# An id that every repr writes as it is, between single quotes.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


class TaskMessages:
    """``redis_broker_message``'s entries, built by Celery's own code once per queue, then
    filled in per job: Celery's message code cost each request a tenth of a millisecond. The
    contract test compares the two."""

    def __init__(self, app: Celery) -> None:
        self._app = app
        self._templates: dict[str, _Template] = {}

    def entry(self, job_id: str, queue: str, headers: TaskHeaders | None = None) -> bytes:
        template = self._templates.get(queue)
        if template is None:
            built = redis_broker_message(self._app, PLACEHOLDER, queue)
            maxsize = self._app.amqp.argsrepr_maxsize
            template = self._templates[queue] = _Template(orjson.loads(built), maxsize)
        return template.filled(job_id, headers)


class _Template:
    """One queue's message, with where the job id goes in it."""

    def __init__(self, message: dict[str, Any], argsrepr_maxsize: int) -> None:
        self.message = message
        self.argsrepr_maxsize = argsrepr_maxsize
        self.headers: dict[str, Any] = message["headers"]
        self.properties: dict[str, Any] = message["properties"]
        self.body: list[Any] = orjson.loads(base64.b64decode(message["body"]))
        self.header_ids = [k for k, v in self.headers.items() if v == PLACEHOLDER]
        self.header_reprs = [
            k for k, v in self.headers.items() if isinstance(v, str) and repr(PLACEHOLDER) in v
        ]
        self.property_ids = [k for k, v in self.properties.items() if v == PLACEHOLDER]
        assert self.body[0] == [PLACEHOLDER], "a job's task takes its id only"

    def filled(self, job_id: str, extra: TaskHeaders | None) -> bytes:
        headers = dict(self.headers)
        for name in self.header_ids:
            headers[name] = job_id
        argsrepr = f"['{job_id}']" if _PLAIN_ID.fullmatch(job_id) else None
        for name in self.header_reprs:  # argsrepr, as Celery writes it (its saferepr is slow)
            headers[name] = argsrepr or saferepr([job_id], self.argsrepr_maxsize)
        headers.update(extra or {})
        properties = dict(self.properties)
        for name in self.property_ids:
            properties[name] = job_id
        body = orjson.dumps([[job_id], *self.body[1:]])
        message = {
            **self.message,
            "body": base64.b64encode(body).decode(),
            "headers": headers,
            "properties": properties,
        }
        return orjson.dumps(message)


class TaskPublisher:
    """Enqueues jobs from the gateway's event loop.

    With a Redis broker it pushes Celery's message with the async client: no thread hop and no
    blocking publish on the request path. Any other broker goes through ``send_task``.
    """

    def __init__(self, app: Celery, broker: Redis | None, *, shares_store: bool = False) -> None:
        self._app = app
        self._broker = broker
        self._shares_store = shares_store
        self._messages = TaskMessages(app)

    @classmethod
    def for_settings(cls, app: Celery, settings: Settings, redis: Redis) -> TaskPublisher:
        if settings.broker_is_store:
            return cls(app, redis, shares_store=True)
        broker_url = settings.celery_broker_url
        if broker_url.startswith(("redis://", "rediss://", "unix://")):
            return cls(app, Redis.from_url(broker_url, socket_timeout=None))  # see redis_client
        return cls(app, None)

    @property
    def broker(self) -> Redis | None:
        """The Redis broker's client; None with another broker."""
        return self._broker

    async def warm_up(self) -> None:
        """Open the publishing connection now rather than on the first request."""

        def connect() -> None:
            with self._app.producer_or_acquire() as producer:
                producer.connection.ensure_connection(max_retries=1)

        if self._broker is None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(connect)

    @property
    def shares_store(self) -> bool:
        """Tasks go on the job store's own Redis (its queues and unacked set are visible there)."""
        return self._broker is not None and self._shares_store

    def same_redis_entry(
        self, job_id: str, queue: str, headers: TaskHeaders | None = None
    ) -> tuple[str, bytes] | None:
        """The (list, message) to push alongside the job's own keys, when the broker is the
        job store's Redis; None when the task must be published on its own."""
        if not self.shares_store:
            return None
        return queue, self._messages.entry(job_id, queue, headers)

    async def publish(self, job_id: str, queue: str, headers: TaskHeaders | None = None) -> None:
        if self._broker is None:
            await asyncio.to_thread(enqueue_job, self._app, job_id, queue, headers)
        else:
            await self._broker.lpush(queue, self._messages.entry(job_id, queue, headers))
