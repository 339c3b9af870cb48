"""The gateway's async publisher writes exactly the message Celery's send_task writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from shared.queue import create_celery, enqueue_job, redis_broker_message
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
