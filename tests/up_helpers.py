"""`llm-gateway up` run as a user runs it, for the tests: a real process with its children, in a
home of its own (so its state file lands in the test's directory, never in the real one)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from gateway.cli.redis_server import free_port
from tests.stack import ROOT


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a user who set nothing: no Redis, no gateway URL, no keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "LLM_GATEWAY"))}
    env.update(
        HOME=str(home), XDG_STATE_HOME=str(home / "state"), COLUMNS="200", PYTHONUNBUFFERED="1"
    )
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_failure(done: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The one line a failed command printed, checking that it is one line and no traceback."""
    assert done.returncode == exit_code, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@dataclass
class Up:
    """One `llm-gateway up`; ``start()`` again after ``stop()`` is a restart."""

    home: Path
    args: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    _log: IO[str] | None = None
    _runs: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.home / "state" / "llm-gateway" / "up.json"

    def start(self, timeout_s: float = 60) -> str:
        """Start it and wait for its banner; returns what it printed."""
        self._runs += 1
        self.log_path = self.home / f"up-{self._runs}.log"
        self._log = self.log_path.open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "up", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            output = self.output()
            if "Ctrl-C stops everything" in output:
                return output
            assert self.process.poll() is None, f"llm-gateway up exited early:\n{output}"
            time.sleep(0.1)
        raise AssertionError(f"llm-gateway up never printed its banner:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def children(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def dev_key(self) -> str:
        found = re.search(r"API key \(development\): (lgw-\S+)", self.output())
        assert found, self.output()
        return found.group(1)

    def state(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.state_file.read_text())
        return parsed

    def client(self, key: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; returns its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.kill()

    def kill(self) -> None:
        """Whatever is left of a failed run: its children are in sessions of their own."""
        if self.process is not None and self.process.poll() is None:
            for child in self.children():
                child.kill()
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
