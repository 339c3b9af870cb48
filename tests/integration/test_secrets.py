"""A provider's error that echoes the key the gateway sent never shows it: not in any front end's
error, the job, its events, nor the gateway's or the worker's log."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, JOBS_URL, chat, directive, wait_for_status
from tests.stack import FAKE_KEY

pytestmark = pytest.mark.integration

ECHOES = [
    # OpenAI's wording, with the key as it was sent (no "Bearer", nothing key-shaped about it).
    {"status": 401, "error_message": f"Incorrect API key provided: {FAKE_KEY}."},
    {"status": 400, "error_message": "bad key sk-proj-abcdef0123456789 for this project"},
    # A 500 whose body carries the Authorization header it received (last: 500s open the
    # model's circuit, after which the provider is not called).
    {"status": 500, "error_message": f"upstream failed; headers were Bearer {FAKE_KEY}"},
]


@pytest.mark.parametrize("echo", ECHOES)
def test_a_key_in_upstream_error_text_reaches_no_client_and_no_log(
    stack: Stack, client: httpx.Client, echo: dict[str, object]
) -> None:
    prompt = directive(**echo)
    seen: list[str] = []
    native = client.post(COMPLETE_URL, json=chat(prompt, model="secrets"))
    assert native.status_code >= 400
    seen.append(native.text)
    openai = client.post("/v1/chat/completions", json={"model": "secrets", **chat(prompt)})
    assert openai.status_code >= 400
    seen.append(openai.text)
    job = client.post(JOBS_URL, json=chat(prompt, model="secrets")).json()
    seen.append(str(wait_for_status(client, job["id"], {"failed"})))
    seen.append(client.get(f"{JOBS_URL}/{job['id']}/events").text)
    query = (
        "query($m: [ChatMessageInput!]!) "
        '{ complete(messages: $m, options: {model: "secrets"}) { content } }'
    )
    graphql = client.post(
        "/graphql",
        json={"query": query, "variables": {"m": [{"role": "user", "content": prompt}]}},
    )
    seen.append(graphql.text)
    assert "errors" in graphql.json()
    seen += [stack.gateway.log_path.read_text(), stack.worker.log_path.read_text()]
    for text in seen:
        assert FAKE_KEY not in text
        assert "sk-proj-abcdef0123456789" not in text
    assert "[redacted]" in native.text
