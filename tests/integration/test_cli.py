"""The operator commands, as an operator runs them: keys made on the CLI work on the gateway."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, chat, directive
from tests.stack import ROOT


def cli(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        env={**stack.env, "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
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
