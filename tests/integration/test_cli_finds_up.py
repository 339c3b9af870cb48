"""The operator commands next to a running `llm-gateway up`, with nothing set: they find it by
its state file, manage its keys and read its usage; with `--data-dir` a restart keeps it all."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import COMPLETE_URL, JOBS_URL, chat, wait_for_status
from tests.up_helpers import Up, clean_env, one_line_failure, run_cli


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    home = tmp_path_factory.mktemp("up-home")
    running = Up(home, ["--no-flower", "--data-dir", str(home / "data")], clean_env(home))
    running.start()
    try:
        yield running
    finally:
        running.kill()


def test_a_key_made_next_to_up_works_there_and_is_listed_with_its_usage(up: Up) -> None:
    made = run_cli(up.env, "keys", "create", "--name", "next-to-up", "--models", "demo", "--json")
    assert made.returncode == 0, made.stderr
    record = json.loads(made.stdout)
    key, key_id = record["key"], record["id"]

    with up.client(key) as client:
        answer = client.post(COMPLETE_URL, json=chat("hello", model="demo"))
        assert answer.status_code == 200, answer.text

    listed = run_cli(up.env, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{key_id}\s.*next-to-up\s.*demo\s.*active", listed.stdout), listed.stdout
    as_json = json.loads(run_cli(up.env, "keys", "list", "--json").stdout)
    assert key_id in [k["id"] for k in as_json["data"]]

    report = json.loads(run_cli(up.env, "usage", "--key", key_id, "--json").stdout)
    assert report["group_by"] == ["key", "model"]
    [row] = report["data"]
    assert (row["key"], row["model"], row["requests"]) == (key_id, "demo", 1)
    assert row["completion_tokens"] > 0
    table = run_cli(up.env, "usage", "--group-by", "key,model,provider")
    assert re.search(rf"{key_id}\s.*demo\s.*demo\s.*\b1\b", table.stdout), table.stdout
    # The default table fits a terminal; --wide has every metric.
    assert max(len(line) for line in table.stdout.splitlines()) <= 100
    assert "reasoning_tokens" in run_cli(up.env, "usage", "--wide").stdout


def test_a_wrong_admin_key_is_one_line_about_401(up: Up) -> None:
    done = run_cli({**up.env, "LLM_GATEWAY_ADMIN_KEY": "not-the-admin-key"}, "keys", "list")
    line = one_line_failure(done, 4)
    assert line.startswith("llm-gateway: 401 unauthorized:")
    assert "LLM_GATEWAY_ADMIN_KEY" in line


def test_a_restart_with_the_data_dir_keeps_keys_and_files(up: Up) -> None:
    """Last in this module: it restarts the module's `up`."""
    made = json.loads(run_cli(up.env, "keys", "create", "--name", "survivor", "--json").stdout)
    dev_key, admin_key = up.dev_key(), up.state()["admin_key"]
    with up.client(dev_key) as client:
        uploaded = client.post(
            "/v1/files",
            files={"file": ("in.jsonl", b'{"custom_id": "a"}\n', "application/jsonl")},
            data={"purpose": "batch"},
        )
        assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    with up.client(dev_key) as client:
        job = client.post(JOBS_URL, json={"prompt": "before the restart"}).json()
        wait_for_status(client, job["id"], {"succeeded"})
    assert up.state()["stream_token_secret"]

    assert up.stop() == 0
    assert not up.state_file.exists()
    gone = one_line_failure(run_cli(up.env, "keys", "list"), 3)
    assert gone.startswith("llm-gateway: no gateway found")
    kept = up.home / "data" / "up.json"
    assert json.loads(kept.read_text())["stopped_at"] is not None
    pointed = {**up.env, "LLM_GATEWAY_UP_STATE_FILE": str(kept)}
    assert "stopped at" in one_line_failure(run_cli(pointed, "keys", "list"), 3)

    output = up.start()
    assert "(kept from the last run)" in output
    assert (up.dev_key(), up.state()["admin_key"]) == (dev_key, admin_key)
    assert re.search(r"Redis: .*append-only file in .*data/redis", output), output
    with up.client(made["key"]) as client:
        assert client.post(COMPLETE_URL, json=chat("again", model="demo")).status_code == 200
    with up.client(dev_key) as client:
        content = client.get(f"/v1/files/{file_id}/content")
        assert content.status_code == 200, content.text
        assert content.content == b'{"custom_id": "a"}\n'
    assert (up.home / "data" / "files").is_dir()
    # The stream token made before the restart still reads its job: the secret was kept too.
    replay = httpx.get(up.base_url + job["links"]["event_source"], timeout=10)
    assert replay.status_code == 200, replay.text
    assert "event: done" in replay.text
    listed = run_cli(up.env, "keys", "list", "--json")
    assert made["id"] in [k["id"] for k in json.loads(listed.stdout)["data"]]
