"""The operator commands, as an operator runs them against a gateway named by LLM_GATEWAY_URL:
keys made on the CLI work on the gateway, and every failure is one line with an exit code."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx

from gateway.cli.redis_server import free_port
from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, chat, directive
from tests.up_helpers import clean_env, one_line_failure, run_cli


def cli_env(stack: Stack) -> dict[str, str]:
    # REDIS_URL stays set (the stack's Redis): the commands must not use it.
    return {**stack.env, "LLM_GATEWAY_URL": stack.base_url, "COLUMNS": "200"}


def cli(stack: Stack, *args: str) -> str:
    done = run_cli(cli_env(stack), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_keys_created_on_the_cli_work_and_revoking_them_refuses_them(stack: Stack) -> None:
    out = cli(stack, "keys", "create", "--name", "cli-made", "--models", "fake", "--rpm", "50")
    key = re.search(r"key: (lgw-\S+)", out)
    assert key, out
    key_id = key.group(1).split("-")[1]
    assert key_id in cli(stack, "keys", "list")
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as client:
        answer = client.post(COMPLETE_URL, json=chat(directive(tokens=3), model="fake"))
        assert answer.status_code == 200
        assert answer.headers["x-ratelimit-limit-requests"] == "50"
        assert client.post(COMPLETE_URL, json=chat("x", model="demo")).status_code == 403

        usage = cli(stack, "usage", "--key", key_id, "--group-by", "key,model")
        assert re.search(rf"{key_id}\s.*fake\s.*\b1\b", usage), usage

        cli(stack, "keys", "revoke", key_id)
        assert client.post(COMPLETE_URL, json=chat("x", model="fake")).status_code == 401
    shown = json.loads(cli(stack, "keys", "show", key_id, "--json"))
    assert (shown["id"], shown["revoked"]) == (key_id, True)


def test_update_changes_only_what_it_is_given(stack: Stack) -> None:
    made = json.loads(
        cli(stack, "keys", "create", "--name", "partial", "--rpm", "10", "--tpm", "1000", "--json")
    )
    changed = json.loads(
        cli(stack, "keys", "update", made["id"], "--tpm", "0", "--budget-usd", "3", "--json")
    )
    assert changed["limits"]["requests_per_minute"] == 10  # kept
    assert changed["limits"]["tokens_per_minute"] is None  # 0: no limit
    assert changed["budget"]["limit_usd"] == 3
    cleared = json.loads(cli(stack, "keys", "update", made["id"], "--no-budget", "--json"))
    assert cleared["budget"] is None


def test_cache_clear_drops_one_answer_or_a_namespace(client: httpx.Client, stack: Stack) -> None:
    def ask(text: str) -> httpx.Response:
        return client.post(COMPLETE_URL, json=chat(f"{text} {directive(tokens=2)}", model="cached"))

    entry = ask("cli-one").headers["x-cache-key"]
    ask("cli-two")
    assert "dropped 1 cached answer" in cli(stack, "cache", "clear", "--entry", entry)
    assert (ask("cli-one").headers["x-cache"], ask("cli-two").headers["x-cache"]) == ("MISS", "HIT")

    namespace = entry.split("/")[0]
    assert "dropped" in cli(stack, "cache", "clear", "--namespace", namespace)
    assert ask("cli-two").headers["x-cache"] == "MISS"


def test_refusals_are_one_line_with_the_gateways_code(stack: Stack) -> None:
    env = cli_env(stack)
    wrong = one_line_failure(run_cli({**env, "LLM_GATEWAY_ADMIN_KEY": "wrong"}, "keys", "list"), 4)
    assert wrong.startswith("llm-gateway: 401 unauthorized:"), wrong
    client_key = one_line_failure(
        run_cli({**env, "LLM_GATEWAY_ADMIN_KEY": stack.api_key or ""}, "keys", "list"), 4
    )
    assert client_key.startswith("llm-gateway: 403 forbidden: this needs the admin key")
    missing = one_line_failure(run_cli(env, "keys", "show", "nosuchkey"), 5)
    assert missing == "llm-gateway: 404 not_found: no API key nosuchkey"
    invalid = one_line_failure(run_cli(env, "keys", "create", "--name", "x", "--rpm", "0"), 1)
    assert invalid.startswith("llm-gateway: 422 invalid_request:"), invalid
    assert "limits.requests_per_minute" in invalid
    grouped = one_line_failure(run_cli(env, "usage", "--group-by", "colour"), 1)
    assert "422 invalid_request: group_by takes key, model, provider, day" in grouped


def test_a_gateway_that_is_not_there_is_one_line(stack: Stack, tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    refused = one_line_failure(run_cli(cli_env(stack), "keys", "list", "--url", nobody), 3)
    assert (
        refused == f"llm-gateway: cannot reach the gateway at {nobody} (--url): connection refused"
    )

    # Nothing set and no `up` running: no guess at a default address, nor at REDIS_URL's Redis.
    env = {**clean_env(tmp_path), "REDIS_URL": stack.redis_url}
    none = one_line_failure(run_cli(env, "usage"), 3)
    assert none.startswith("llm-gateway: no gateway found: set LLM_GATEWAY_URL"), none

    # The state file of an `up` that died without cleaning up is ignored, and says so.
    state_file = tmp_path / "state" / "llm-gateway" / "up.json"
    state_file.parent.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    state_file.write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "url": stack.base_url,
                "admin_key": "x",
                "redis": {"url": stack.redis_url, "kind": "redis-server", "persistent": False},
                "started_at": time.time(),
            }
        )
    )
    stale = one_line_failure(run_cli(env, "keys", "list"), 3)
    assert f"ignoring {state_file}" in stale
    assert f"(pid {dead.pid}) at {stack.base_url} is no longer running" in stale
