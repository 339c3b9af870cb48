"""Logs of a full run: JSON lines that carry the request id from the gateway into the worker's
lines of the job, and never a prompt, a client key, the admin key or a provider key."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client
from gql.transport.websockets import WebsocketsTransport
from httpx_sse import connect_sse
from openai import OpenAI

from tests.conftest import Stack
from tests.graphql_helpers import COMPLETE_STREAM, TRANSPORT_WS, collect
from tests.helpers import COMPLETE_URL, STREAM_URL, chat, directive
from tests.stack import (
    ADMIN_KEY,
    FAKE_KEY,
    Process,
    create_api_key,
    start_gateway,
    start_worker,
)

pytestmark = pytest.mark.integration


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def run_stack(
    stack: Stack, tmp_path: Path, queue: str, **settings: str
) -> Iterator[tuple[Process, Process, str]]:
    """A gateway and worker of their own queue, logging at INFO (the worker at DEBUG)."""
    env = {**stack.env, "LLM_GATEWAY_INTERACTIVE_QUEUE": queue, **settings}
    worker = start_worker(env, tmp_path, stack.redis_url, queue=queue, loglevel="DEBUG")
    try:
        gateway, base_url = start_gateway(
            env, tmp_path, extra_args=("--log-level", "info", "--access-log")
        )
    except BaseException:
        worker.stop()
        raise
    try:
        yield gateway, worker, base_url
    finally:
        gateway.stop()
        worker.stop()


@pytest.fixture
def quiet_stack(stack: Stack, tmp_path: Path) -> Iterator[tuple[Process, Process, str]]:
    yield from run_stack(stack, tmp_path, f"logs.{uuid.uuid4().hex[:8]}")


def test_the_request_id_reaches_the_workers_lines_and_no_secret_is_logged(
    stack: Stack, quiet_stack: tuple[Process, Process, str]
) -> None:
    gateway, worker, base_url = quiet_stack
    key = create_api_key(base_url, "logs")
    secret_prompt = f"PROMPT-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {key}"}
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        answer = client.post(
            COMPLETE_URL,
            json=chat(f"{secret_prompt} {directive(tokens=3)}", model="fake"),
            headers={"X-Request-ID": request_id},
        )
        assert answer.status_code == 200
        assert answer.headers["x-request-id"] == request_id
        job_id = answer.headers["x-job-id"]
        # No id sent: one is made up and returned.
        other = client.post(COMPLETE_URL, json=chat(f"{secret_prompt} again", model="fake"))
        assert len(other.headers["x-request-id"]) == 32
        # The prompt in a query string, an error from the provider, a refused key.
        params = {"prompt": f"{secret_prompt} {directive(tokens=2)}"}
        with connect_sse(client, "GET", STREAM_URL, params=params) as source:
            assert [e.event for e in source.iter_sse()][-1] == "done"
        client.post(COMPLETE_URL, json=chat(f"{secret_prompt} {directive(status=500)}"))
        bad = client.get("/api/v1/llm/models", headers={"Authorization": f"Bearer {key}x"})
        assert bad.status_code == 401
    with OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0) as sdk:
        list(
            sdk.chat.completions.create(
                model="fake",
                messages=[{"role": "user", "content": secret_prompt}],
                stream=True,
            )
        )

    async def subscribe() -> None:
        transport = WebsocketsTransport(
            url=base_url.replace("http", "ws", 1) + "/graphql",
            subprotocols=[TRANSPORT_WS],
            init_payload={"Authorization": f"Bearer {key}"},
        )
        async with Client(transport=transport) as session:
            messages = [{"role": "user", "content": secret_prompt}]
            await collect(session, COMPLETE_STREAM, messages=messages, options={"model": "fake"})

    asyncio.run(subscribe())
    gateway.stop()
    worker.stop()

    worker_lines = json_lines(worker.log_path)
    of_job = [line for line in worker_lines if line.get("job_id") == job_id]
    messages = [line["message"] for line in of_job]
    assert any(m.startswith("job started") for m in messages), messages
    assert any(m.startswith("job ended: succeeded") for m in messages), messages
    assert all(line.get("request_id") == request_id for line in of_job), of_job
    gateway_lines = json_lines(gateway.log_path)
    assert any(
        line.get("request_id") == request_id and "/api/v1/llm/complete" in line["message"]
        for line in gateway_lines
    )
    for process in (gateway, worker):
        text = process.log_path.read_text(errors="replace")
        # lgw-<id>-<secret>: the secret may hold dashes of its own.
        key_secret = key.split("-", 2)[2]
        for secret in (secret_prompt, key, key_secret, ADMIN_KEY, FAKE_KEY):
            assert secret not in text, f"{secret} in the {process.name} log"


def test_log_prompts_is_the_one_way_to_log_a_prompt(stack: Stack, tmp_path: Path) -> None:
    """The debug setting does what it says, so the grep above would catch a leak."""
    queue = f"logs.{uuid.uuid4().hex[:8]}"
    for gateway, worker, base_url in run_stack(
        stack, tmp_path, queue, LLM_GATEWAY_LOG_PROMPTS="true"
    ):
        key = create_api_key(base_url, "logs-debug")
        prompt = f"PROMPT-{uuid.uuid4().hex}"
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            assert client.post(COMPLETE_URL, json=chat(prompt, model="fake")).status_code == 200
        gateway.stop()
        worker.stop()
        assert prompt in worker.log_path.read_text()
        assert prompt not in gateway.log_path.read_text()
