"""A provider's own quota holds across workers: its concurrency is never exceeded, and a
saturated provider is passed over while another can serve."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from httpx_sse import connect_sse

from tests.conftest import Stack
from tests.helpers import STREAM_URL, chat, content_of, data, directive, expected_text, new_tag


def most_at_once(records: list[dict[str, Any]]) -> int:
    edges = sorted([(r["started_at"], 1) for r in records] + [(r["ended_at"], -1) for r in records])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_provider_concurrency_is_never_exceeded(stack: Stack) -> None:
    tag = new_tag()  # fake_limited allows 2 requests at once
    body = chat(directive(tokens=8, token_delay_ms=40, tag=tag), model="limited")

    def one(_: int) -> str:
        with stack.client() as client, connect_sse(client, "POST", STREAM_URL, json=body) as s:
            return content_of(list(s.iter_sse()))

    with ThreadPoolExecutor(6) as pool:
        texts = list(pool.map(one, range(6)))
    assert texts == [expected_text(8)] * 6  # all served, in turn
    records = stack.fake.requests(tag)
    assert len(records) == 6
    assert most_at_once(records) == 2


def test_a_saturated_provider_is_passed_over_for_the_next_step(stack: Stack) -> None:
    slow_tag, quick_tag = new_tag(), new_tag()
    slow = chat(directive(tokens=40, token_delay_ms=50, tag=slow_tag), model="limited-then-backup")
    with ThreadPoolExecutor(2) as pool, stack.client() as client:
        holders = [
            pool.submit(lambda: client.post("/api/v1/llm/complete", json=slow)) for _ in range(2)
        ]
        stack.fake.wait_for(slow_tag, finished=False)
        while len(stack.fake.requests(slow_tag)) < 2:
            pass
        with connect_sse(
            client,
            "POST",
            STREAM_URL,
            json=chat(directive(tokens=3, tag=quick_tag), model="limited-then-backup"),
        ) as source:
            events = list(source.iter_sse())
        for holder in holders:
            assert holder.result().status_code == 200
    assert data(events[0])["provider"] == "fake_backup"  # fake_limited was full
    assert events[-1].event == "done"
