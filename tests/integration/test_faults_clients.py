"""Clients that vanish mid-stream, that read slowly, and a gateway killed under its readers: the
upstream streams close, what was generated is billed, nothing is lost or duplicated."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

from shared.limits import estimate_text_tokens
from tests.conftest import Stack
from tests.helpers import JOBS_URL, STREAM_URL, chat, content_of, directive, expected_text
from tests.stack import ADMIN_KEY, create_api_key, start_gateway

pytestmark = pytest.mark.integration


def usage_of(stack: Stack, key: str) -> dict[str, int]:
    rows = httpx.get(
        f"{stack.base_url}/api/v1/usage",
        params={"key": key.split("-")[1], "group_by": "key"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).json()["data"]
    return rows[0] if rows else {}


async def test_vanishing_clients_close_upstream_and_their_tokens_are_billed(
    stack: Stack,
) -> None:
    key = create_api_key(stack.base_url, "vanishing")
    tags = [uuid.uuid4().hex[:10] for _ in range(10)]

    async def vanish(client: httpx.AsyncClient, tag: str) -> None:
        body = chat(directive(tokens=400, token_delay_ms=10, tag=tag))
        async with aconnect_sse(client, "POST", STREAM_URL, json=body) as source:
            deltas = 0
            async for event in source.aiter_sse():
                deltas += event.event == "delta"
                if deltas == 5:
                    return  # the tab closes

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=60) as client:
        await asyncio.gather(*(vanish(client, tag) for tag in tags))
    for tag in tags:
        upstream = await asyncio.to_thread(stack.fake.wait_for, tag, timeout=15)
        assert upstream["outcome"] == "client_closed"
        assert upstream["tokens_sent"] < 400
    deadline = asyncio.get_running_loop().time() + 15
    while usage_of(stack, key).get("incomplete_requests", 0) < len(tags):
        assert asyncio.get_running_loop().time() < deadline, usage_of(stack, key)
        await asyncio.sleep(0.1)
    usage = usage_of(stack, key)
    # Cancelled streams are billed what they generated, marked as estimates.
    assert usage["requests"] == usage["incomplete_requests"] == len(tags)
    # Each had generated at least the five deltas its reader saw (estimated as admission does).
    assert usage["completion_tokens"] >= len(tags) * estimate_text_tokens(expected_text(5))
    assert usage["estimated_requests"] == len(tags)
    assert usage["cost_usd"] > 0  # fake-model is priced


def test_a_slow_reader_gets_every_event_once(stack: Stack, client: httpx.Client) -> None:
    job = client.post(JOBS_URL, json=chat(directive(tokens=300, token_delay_ms=1))).json()
    seqs: list[int] = []
    with connect_sse(client, "GET", job["links"]["events"]) as source:
        events = []
        for event in source.iter_sse():
            events.append(event)
            seqs.append(int(event.id))
            if len(events) % 20 == 0:
                time.sleep(0.05)  # a reader slower than the stream
    assert seqs == list(range(1, len(seqs) + 1))
    assert events[-1].event == "done"
    assert content_of(events) == expected_text(300)


def test_readers_of_a_killed_gateway_resume_exactly_on_another(
    stack: Stack, client: httpx.Client
) -> None:
    doomed, doomed_url = start_gateway(stack.env, stack.log_dir, name="gateway-doomed")
    jobs = [
        client.post(JOBS_URL, json=chat(directive(tokens=60, token_delay_ms=20))).json()
        for _ in range(5)
    ]
    seen: dict[str, list[ServerSentEvent]] = {}
    with httpx.Client(base_url=doomed_url, headers=stack.auth_headers, timeout=30) as other:
        for job in jobs:
            with connect_sse(other, "GET", job["links"]["events"]) as source:
                got = []
                for event in source.iter_sse():
                    got.append(event)
                    if len(got) == 10:
                        break
            seen[job["id"]] = got
    doomed.popen.send_signal(signal.SIGKILL)
    doomed.popen.wait()
    for job in jobs:
        first = seen[job["id"]]
        headers = {"Last-Event-ID": first[-1].id}
        with connect_sse(client, "GET", job["links"]["events"], headers=headers) as source:
            rest = list(source.iter_sse())
        ids = [int(e.id) for e in first + rest]
        assert ids == list(range(1, len(ids) + 1))
        assert rest[-1].event == "done"
        assert content_of(first + rest) == expected_text(60)
    doomed.stop()
