"""`llm-gateway up` as a user runs it: no Redis given, no keys, demo tokens, Ctrl-C stops all."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from tests.faults import wait_until
from tests.helpers import content_of
from tests.up_helpers import Up, clean_env


@pytest.mark.parametrize("redis_kind", ["redis-server", "fakeredis"])
def test_up_streams_demo_tokens_and_ctrl_c_stops_every_child(
    redis_kind: str, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    if redis_kind == "fakeredis":  # a machine without redis-server
        env["PATH"] = str(Path(sys.executable).parent)
    up = Up(tmp_path, ["--no-flower"], env)
    try:
        output = up.start()
        children = up.children()
        assert len(children) >= 2  # gateway and worker (and redis-server when on the PATH)

        dev_key = up.dev_key()
        auth = f"-H 'Authorization: Bearer {dev_key}'"
        assert f"curl -N {auth} '{up.base_url}/api/v1/llm/complete/stream?prompt=Hello'" in output
        assert httpx.get(f"{up.base_url}/api/v1/llm/models", timeout=5).status_code == 401

        # It says where its Redis and its state file are, and nothing of its children's.
        if redis_kind == "fakeredis":
            assert re.search(r"fakeredis.*trying", output, re.S)
            assert re.search(r"Redis: +redis://127\.0\.0\.1:\d+/0 +\(in-process fakeredis", output)
        else:
            assert re.search(r"Redis: +redis://127\.0\.0\.1:\d+/0 +\(private redis-server", output)
        assert f"State:     {up.state_file}" in output
        for noise in ("SecurityWarning", "superuser", "-------------- llm.", "[queues]"):
            assert noise not in output
        state = up.state()
        assert (state["url"], state["dev_key"]) == (up.base_url, dev_key)
        assert stat.S_IMODE(up.state_file.stat().st_mode) == 0o600

        with (
            up.client(dev_key) as client,
            connect_sse(
                client, "GET", "/api/v1/llm/complete/stream", params={"prompt": "Hello there"}
            ) as source,
        ):
            events = list(source.iter_sse())
        assert events[-1].event == "done"
        assert "demo provider" in content_of(events)
        assert content_of(events).endswith("You said: Hello there")

        assert up.stop() == 0
        assert not [c for c in children if c.is_running() and c.status() != "zombie"]
        assert not up.state_file.exists()  # withdrawn: the CLI finds no gateway that is gone
        assert "Warm shutdown" not in up.output()
    finally:
        up.kill()


def test_up_restarts_a_child_that_dies_and_says_so(tmp_path: Path) -> None:
    up = Up(tmp_path, ["--no-flower"], clean_env(tmp_path))
    try:
        up.start()
        dev_key = up.dev_key()
        for name, marker in (("worker", "worker"), ("gateway", "gateway")):
            doomed = next(
                c
                for c in up.children()
                if marker in c.cmdline()
                and "--queues" not in c.cmdline()
                and "gateway.cli.main" in " ".join(c.cmdline())
            )
            doomed.kill()
            wait_until(
                lambda name=name: f"{name} restarted" in up.output(),  # type: ignore[misc]
                30,
                f"up to restart the {name}",
            )
            assert re.search(rf"{name} exited \(code -9\); restarting it in 1 s", up.output())

            def streams() -> bool:
                try:
                    with (
                        up.client(dev_key) as client,
                        connect_sse(
                            client, "GET", "/api/v1/llm/complete/stream", params={"prompt": "Hi"}
                        ) as source,
                    ):
                        return list(source.iter_sse())[-1].event == "done"
                except httpx.HTTPError:
                    return False

            wait_until(streams, 30, f"a stream after the {name} restarted")
        assert up.stop() == 0
    finally:
        up.kill()
