"""The rule that keeps a worker's task events on: a monitor asked within QUIET_S."""

from __future__ import annotations

import time

from shared.settings import TaskEvents
from workers.task_events import TaskEventsGate


def test_monitored_events_last_while_a_monitor_keeps_asking() -> None:
    gate = TaskEventsGate(TaskEvents.MONITORED, quiet_s=30)
    assert not gate.wanted()  # nobody has asked yet
    assert gate.asked()
    now = time.monotonic()
    assert gate.wanted(now + 29)
    assert not gate.wanted(now + 31)


def test_always_and_never_ignore_the_monitor() -> None:
    always = TaskEventsGate(TaskEvents.ALWAYS)
    assert always.wanted()
    never = TaskEventsGate(TaskEvents.NEVER)
    assert not never.asked()  # the remote command is refused
    assert not never.wanted()
