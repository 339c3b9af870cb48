"""Celery task events only while a monitor asks for them.

Every task sends three events (received, started, and how it ended) that are serialised and
published whether anyone listens or not: a fifth of what the Celery consumer spends per job.
Flower asks workers to send them with the ``enable_events`` remote command every 5 s, and a
worker started after it is asked within those 5 s. So a worker starts without task events
(``worker_send_task_events`` off, ``Settings.task_events`` "monitored"), turns them on when
asked, and off again once nobody has asked for ``QUIET_S``. "always" keeps them on for monitors
that only listen; "never" refuses the request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from celery.worker import control

from shared.settings import TaskEvents

log = logging.getLogger(__name__)

TASK_GROUP = "task"
# Six of Flower's requests missed in a row: it has gone.
QUIET_S = 30.0
CHECK_INTERVAL_S = 5.0


class TaskEventsGate:
    """When a monitor last asked for task events (monotonic), and the rule for keeping them."""

    def __init__(self, mode: TaskEvents, quiet_s: float = QUIET_S) -> None:
        self.mode = mode
        self.quiet_s = quiet_s
        self.asked_at: float | None = None

    def asked(self) -> bool:
        """A monitor asks for task events now; False when this worker never sends them."""
        self.asked_at = time.monotonic()
        return self.mode is not TaskEvents.NEVER

    def wanted(self, now: float | None = None) -> bool:
        if self.mode is not TaskEvents.MONITORED:
            return self.mode is TaskEvents.ALWAYS
        if self.asked_at is None:
            return False
        return (now or time.monotonic()) - self.asked_at < self.quiet_s


def install_enable_events_hook() -> None:
    """Wrap Celery's ``enable_events`` remote command so the consumer's gate hears of it.
    Remote commands live in Celery's process-wide registry; wrapping twice is a no-op."""
    original = control.Panel.data["enable_events"]
    if getattr(original, "gated", False):
        return

    def enable_events(state: Any, **kwargs: Any) -> Any:
        gate: TaskEventsGate | None = getattr(state.consumer, "task_events_gate", None)
        if gate is not None and not gate.asked():
            return {"error": "this worker sends no task events (task_events: never)"}
        return original(state, **kwargs)

    enable_events.gated = True  # type: ignore[attr-defined]
    control.Panel.data["enable_events"] = enable_events


class TaskEventsGateStep(bootsteps.StartStopStep):
    """The consumer bootstep that turns task events off once no monitor asks for them."""

    requires = ("celery.worker.consumer.events:Events",)

    def __init__(self, parent: Any, task_events_gate: TaskEventsGate | None = None, **kwargs: Any):
        super().__init__(parent, **kwargs)
        self.gate = task_events_gate
        parent.task_events_gate = task_events_gate
        self.timer: Any = None

    def start(self, parent: Any) -> None:
        if self.gate is None or self.timer is not None:
            return
        gate = self.gate
        dispatcher = parent.event_dispatcher
        if gate.wanted() and dispatcher is not None and dispatcher.groups:
            dispatcher.groups.add(TASK_GROUP)  # a reconnect rebuilt it: the monitor is still on

        def check() -> None:
            dispatcher = parent.event_dispatcher
            if dispatcher is None or not dispatcher.groups:
                return  # no dispatcher yet, or every group on (Celery's "always")
            if TASK_GROUP in dispatcher.groups and not gate.wanted():
                dispatcher.groups.discard(TASK_GROUP)
                log.info("task events off: no monitor has asked for them in %.0f s", gate.quiet_s)

        self.timer = parent.timer.call_repeatedly(CHECK_INTERVAL_S, check)

    def stop(self, parent: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
