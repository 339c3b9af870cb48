"""Celery task events against a real worker: none while no monitor asks, every one once asked."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery

from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, chat
from tests.stack import create_api_key, start_gateway, start_worker

pytestmark = pytest.mark.integration


class EventLog:
    """Every event the workers publish, read by Celery's own receiver on a thread."""

    def __init__(self, app: Celery) -> None:
        self.events: list[dict[str, Any]] = []
        self._app = app
        self._receiver: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._capture, daemon=True)

    def __enter__(self) -> EventLog:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(5)

    def _capture(self) -> None:
        with self._app.connection_for_read() as connection:
            self._receiver = self._app.events.Receiver(
                connection, handlers={"*": self.events.append}
            )
            # Subscribed before the test goes on (kombu calls this once consuming).
            self._receiver.on_consume_ready = lambda *args, **kwargs: self._ready.set()
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def task_events(self, task_id: str) -> list[str]:
        return [e["type"] for e in list(self.events) if e.get("uuid") == task_id]


def test_task_events_flow_only_while_a_monitor_asks(stack: Stack, tmp_path: Path) -> None:
    queue = f"events.{uuid.uuid4().hex[:8]}"
    env = {**stack.env, "LLM_GATEWAY_INTERACTIVE_QUEUE": queue}
    worker = start_worker(env, tmp_path, stack.redis_url, queue=queue, loglevel="INFO")
    gateway, base_url = start_gateway(env, tmp_path)
    app = Celery(broker=stack.redis_url, set_as_current=False)
    try:
        key = create_api_key(base_url, "events")
        with (
            EventLog(app) as log,
            httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client,
        ):
            unwatched = client.post(COMPLETE_URL, json=chat("hello", model="fake"))
            assert unwatched.status_code == 200

            app.control.enable_events()  # what Flower sends every 5 s
            deadline = time.monotonic() + 10
            while "Events of group {task} enabled" not in worker.log_path.read_text("utf-8"):
                assert time.monotonic() < deadline, worker.tail()
                time.sleep(0.05)
            watched = client.post(COMPLETE_URL, json=chat("hello", model="fake"))
            assert watched.status_code == 200

            watched_id = watched.headers["x-job-id"]
            deadline = time.monotonic() + 10
            while "task-succeeded" not in log.task_events(watched_id):
                assert time.monotonic() < deadline, log.events[-5:]
                time.sleep(0.05)
            assert log.task_events(watched_id)[:2] == ["task-received", "task-started"]
            # Published before the watched job's, had there been any.
            assert log.task_events(unwatched.headers["x-job-id"]) == []
    finally:
        gateway.stop()
        worker.stop()
