"""The child processes of ``llm-gateway up``: started in sessions of their own, watched, and
stopped in order."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from dataclasses import dataclass

import httpx
from rich.console import Console

STOP_TIMEOUT_S = 15.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def spawn(name: str, args: list[str], env: dict[str, str], *, quiet_stdout: bool = False) -> Child:
    """Start a child; ``quiet_stdout`` for Celery's, which print their start-up banner and
    shutdown notices to stdout whatever the options (their logs go to stderr, which stays)."""
    # Its own session: Ctrl-C reaches only `up`, which then stops the children in order.
    process = subprocess.Popen(
        args,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL if quiet_stdout else None,
    )
    return Child(name, process)


def stop_children(children: list[Child], console: Console) -> None:
    for child in children:
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
