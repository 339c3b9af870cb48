"""The gateway's async publisher writes exactly the message Celery's send_task writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from shared.queue import TaskMessages, create_celery, enqueue_job, redis_broker_message
from shared.settings import Settings


def normalised(raw: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    for per_publish in ("delivery_tag", "reply_to"):  # fresh on every send
        message["properties"].pop(per_publish)
    return message


def test_async_publisher_message_matches_send_task(redis_url: str) -> None:
    app = create_celery(Settings(redis_url=redis_url, interactive_queue="contract.q"))
    client = redis.Redis.from_url(redis_url)
    enqueue_job(app, "job-contract", "contract.q")
    sent_by_celery = client.lpop("contract.q")
    assert isinstance(sent_by_celery, bytes)
    ours = redis_broker_message(app, "job-contract", "contract.q")
    assert normalised(ours) == normalised(sent_by_celery)


def test_messages_filled_in_per_job_match_celerys_own() -> None:
    app = create_celery(Settings(interactive_queue="contract.q"))
    messages = TaskMessages(app)
    headers: dict[str, str | float] = {
        "x-request-id": "req-1",
        "x-enqueued-at": 1700000000.5,
        "traceparent": "00-ab-cd-01",
    }
    for job_id in ("job-a", "job-b", 'it\'s "quoted" \\ and ünïcode'):
        for queue in ("contract.q", "contract.batch"):
            ours = json.loads(messages.entry(job_id, queue, headers))
            celerys = json.loads(redis_broker_message(app, job_id, queue, headers))
            for message in (ours, celerys):
                message["body"] = json.loads(base64.b64decode(message["body"]))
            assert ours == celerys
