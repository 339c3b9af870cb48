"""`llm-gateway up` as a user runs it: no Redis given, no keys, demo tokens, Ctrl-C stops all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from httpx_sse import connect_sse

from gateway.cli.redis_server import free_port
from tests.helpers import content_of

ROOT = Path(__file__).resolve().parents[2]


def wait_healthy(base_url: str, process: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "llm-gateway up exited early"
        try:
            if httpx.get(f"{base_url}/api/v1/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("llm-gateway up never became healthy")


@pytest.mark.parametrize("redis_kind", ["redis-server", "fakeredis"])
def test_up_streams_demo_tokens_and_ctrl_c_stops_every_child(
    redis_kind: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "LLM_GATEWAY"))}
    if redis_kind == "fakeredis":  # a machine without redis-server
        env["PATH"] = str(Path(sys.executable).parent)
    port = free_port()
    log = (tmp_path / "up.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "up", "--port", str(port), "--no-flower"],
        cwd=ROOT,
        env={**env, "COLUMNS": "200"},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 2  # gateway and worker (and redis-server when on the PATH)

        output, found = "", None
        deadline = time.monotonic() + 15  # `up` prints its banner once it sees the gateway up
        while found is None and time.monotonic() < deadline:
            log.seek(0)
            output = log.read()
            found = re.search(r"API key \(development\): (lgw-\S+)", output)
            time.sleep(0.1)
        assert found, output
        dev_key = found.group(1)
        auth = f"-H 'Authorization: Bearer {dev_key}'"
        assert f"curl -N {auth} '{base_url}/api/v1/llm/complete/stream?prompt=Hello'" in output
        assert httpx.get(f"{base_url}/api/v1/llm/models", timeout=5).status_code == 401

        headers = {"Authorization": f"Bearer {dev_key}"}
        with (
            httpx.Client(base_url=base_url, timeout=30, headers=headers) as client,
            connect_sse(
                client, "GET", "/api/v1/llm/complete/stream", params={"prompt": "Hello there"}
            ) as source,
        ):
            events = list(source.iter_sse())
        assert events[-1].event == "done"
        assert "demo provider" in content_of(events)
        assert content_of(events).endswith("You said: Hello there")
        if redis_kind == "fakeredis":
            assert re.search(r"fakeredis.*trying", output, re.S)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not [c for c in children if c.is_running() and c.status() != "zombie"]
    finally:
        if process.poll() is None:  # a failed run: its children are in sessions of their own
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
        log.close()
