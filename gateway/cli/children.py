"""The child processes of ``llm-gateway up``: started in sessions of their own, watched and
restarted when one dies (with a growing delay while it keeps dying), and stopped in order."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from rich.console import Console

STOP_TIMEOUT_S = 15.0
# Seconds before restarting a child that died: the n-th death in a row waits the n-th entry.
RESTART_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
# A child that ran this long is healthy again: its next death waits the first delay.
STABLE_AFTER_S = 60.0
POLL_S = 0.2


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    quiet_stdout: bool = False
    started_at: float = field(default_factory=time.monotonic)
    deaths: int = 0  # in a row, without a stable run between
    restart_at: float | None = None  # it died: when it starts again

    def start(self) -> None:
        """Start it again, as it was first started."""
        self.process = _popen(self.args, self.env, self.quiet_stdout)
        self.started_at = time.monotonic()
        self.restart_at = None


def spawn(name: str, args: list[str], env: dict[str, str], *, quiet_stdout: bool = False) -> Child:
    """Start a child; ``quiet_stdout`` for Celery's, which print their start-up banner and
    shutdown notices to stdout whatever the options (their logs go to stderr, which stays)."""
    return Child(name, _popen(args, env, quiet_stdout), args, env, quiet_stdout)


def _popen(args: list[str], env: dict[str, str], quiet_stdout: bool) -> subprocess.Popen[bytes]:
    # Its own session: Ctrl-C reaches only `up`, which then stops the children in order.
    return subprocess.Popen(
        args,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL if quiet_stdout else None,
    )


def supervise(children: list[Child], console: Console, stopping: Callable[[], bool]) -> None:
    """Until ``stopping()``: a child that exits is started again after a delay that grows
    while it keeps dying (RESTART_BACKOFF_S), and each death and restart is said."""
    while not stopping():
        now = time.monotonic()
        for child in children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start()
                    console.print(f"[green]{child.name} restarted (pid {child.process.pid}).[/]")
                continue
            code = child.process.poll()
            if code is None:
                if now - child.started_at > STABLE_AFTER_S:
                    child.deaths = 0
                continue
            delay = RESTART_BACKOFF_S[min(child.deaths, len(RESTART_BACKOFF_S) - 1)]
            child.deaths += 1
            child.restart_at = now + delay
            console.print(
                f"[yellow]{child.name} exited (code {code}); restarting it in {delay:g} s.[/]"
            )
        time.sleep(POLL_S)


def stop_children(children: list[Child], console: Console) -> None:
    for child in children:
        child.restart_at = None
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            console.print(f"[yellow]{child.name} did not stop in time; killing it[/]")
            child.process.kill()
            child.process.wait()


def wait_until_healthy(url: str, children: list[Child], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(child.process.poll() is not None for child in children):
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/health/ready", timeout=2).status_code == 200:
                return True
        time.sleep(0.2)
    return False
