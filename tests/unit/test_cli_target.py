"""How the operator commands pick their gateway and word its refusals, without a gateway."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from gateway.cli.admin_client import AdminClient
from gateway.cli.errors import CliError, ExitCode
from gateway.cli.state_file import RedisInfo, UpState, read_state, remove_if_ours, write_state
from gateway.cli.target import Target, find_gateway
from shared.settings import Settings


def state(**overrides: object) -> UpState:
    fields: dict[str, object] = {
        "pid": os.getpid(),
        "url": "http://127.0.0.1:8123",
        "admin_key": "from-state",
        "dev_key": "lgw-a-b",
        "redis": RedisInfo(url="redis://127.0.0.1:1/0", kind="redis-server", persistent=False),
        "started_at": time.time(),
        **overrides,
    }
    return UpState.model_validate(fields)


def settings(tmp_path: Path, **fields: object) -> Settings:
    return Settings.model_validate({"up_state_file": tmp_path / "up.json", **fields})


def test_the_state_file_is_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "up.json"
    written = state()
    write_state(path, written)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_state(path) == written
    assert "from-state" not in repr(read_state(path))
    assert not remove_if_ours(path, os.getpid() + 1)
    assert remove_if_ours(path, os.getpid())
    assert read_state(path) is None


def test_a_state_file_that_does_not_parse_is_an_error_not_no_gateway(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    path.write_text("{not json")
    with pytest.raises(CliError, match="not one `llm-gateway up` wrote") as caught:
        read_state(path)
    assert caught.value.exit_code == ExitCode.NO_GATEWAY


def test_options_then_settings_then_the_running_up(tmp_path: Path) -> None:
    write_state(tmp_path / "up.json", state())
    found = find_gateway(settings(tmp_path), url=None, admin_key=None)
    assert (found.url, found.admin_key) == ("http://127.0.0.1:8123", "from-state")
    assert "state file" in found.url_source

    given = settings(tmp_path, gateway_url="http://gw.example/", admin_key="from-env")
    found = find_gateway(given, url=None, admin_key=None)
    assert (found.url, found.admin_key, found.key_source) == (
        "http://gw.example",
        "from-env",
        "LLM_GATEWAY_ADMIN_KEY",
    )
    found = find_gateway(given, url="http://opt.example", admin_key="from-option")
    assert (found.url, found.admin_key) == ("http://opt.example", "from-option")
    # A URL given without a key does not borrow the state file's: that key is another gateway's.
    assert find_gateway(settings(tmp_path), url="http://x", admin_key=None).admin_key is None


def test_no_state_file_or_a_dead_ups_is_no_gateway(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="no gateway found") as caught:
        find_gateway(settings(tmp_path), url=None, admin_key=None)
    assert caught.value.exit_code == ExitCode.NO_GATEWAY

    gone = subprocess.Popen(["true"])
    gone.wait()
    write_state(tmp_path / "up.json", state(pid=gone.pid))
    with pytest.raises(CliError, match=f"pid {gone.pid}.*is no longer running"):
        find_gateway(settings(tmp_path), url=None, admin_key=None)
    write_state(tmp_path / "up.json", state(stopped_at=time.time()))
    with pytest.raises(CliError, match="stopped at"):
        find_gateway(settings(tmp_path), url=None, admin_key=None)


def answering(status: int, body: object) -> AdminClient:
    target = Target("http://gw.test", "k", "--url", "--admin-key")
    client = AdminClient(target)
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    client._http = httpx.Client(base_url=target.url, transport=transport)
    return client


@pytest.mark.parametrize(
    ("status", "body", "message", "exit_code"),
    [
        (
            422,
            {
                "error": {
                    "code": "invalid_request",
                    "message": "the request is invalid",
                    "details": [
                        {"loc": ["body", "limits", "rpm"], "msg": "too small", "type": "x"}
                    ],
                }
            },
            "422 invalid_request: the request is invalid (limits.rpm: too small)",
            ExitCode.REFUSED,
        ),
        (
            401,
            {"error": {"code": "unauthorized", "message": "not valid"}},
            "401 unauthorized: not valid: http://gw.test refused the admin key from --admin-key",
            ExitCode.AUTH,
        ),
        (404, {"error": {"code": "not_found", "message": "no key"}}, "404 not_found: no key", 5),
        (502, ["not", "ours"], "502 http_502:", ExitCode.REFUSED),
    ],
)
def test_refusals_read_as_one_line(status: int, body: object, message: str, exit_code: int) -> None:
    with answering(status, body) as client, pytest.raises(CliError) as caught:
        client.get("/api/v1/admin/keys")
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == exit_code
