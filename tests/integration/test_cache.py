"""The response cache: hits answered without a provider call, streamed and not, and what is
never cached or shared."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.conftest import Stack
from tests.helpers import (
    COMPLETE_URL,
    JOBS_URL,
    STREAM_URL,
    chat,
    content_of,
    data,
    directive,
    expected_text,
    new_tag,
    wait_for_status,
)
from tests.stack import ADMIN_KEY, create_api_key


def ask(tag: str, *, model: str = "cached", **scenario: Any) -> dict[str, Any]:
    return chat(f"question {directive(tag=tag, **scenario)}", model=model)


def calls(stack: Stack, tag: str) -> int:
    return len(stack.fake.requests(tag))


def stream(client: httpx.Client, body: dict[str, Any], **headers: str) -> tuple[Any, list[Any]]:
    with connect_sse(client, "POST", STREAM_URL, json=body, headers=headers) as source:
        return source.response.headers, list(source.iter_sse())


def test_a_repeated_request_is_a_hit_with_the_same_answer(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    first = client.post(COMPLETE_URL, json=ask(tag, tokens=6))
    second = client.post(COMPLETE_URL, json=ask(tag, tokens=6))

    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.json()["content"] == first.json()["content"] == expected_text(6)
    assert second.json()["usage"] == first.json()["usage"]
    assert (first.json()["cache"], second.json()["cache"]) == ("MISS", "HIT")
    assert second.json()["cost"] == 0
    assert calls(stack, tag) == 1


def test_a_hit_streams_the_cached_deltas_with_the_same_protocol(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    miss_headers, missed = stream(client, ask(tag, tokens=5))
    hit_headers, hit = stream(client, ask(tag, tokens=5))

    assert (miss_headers["x-cache"], hit_headers["x-cache"]) == ("MISS", "HIT")
    assert content_of(hit) == content_of(missed) == expected_text(5)
    assert [int(e.id) for e in hit] == list(range(1, len(hit) + 1))
    assert hit[0].event == "start" and data(hit[0])["cache"] == "HIT"
    assert hit[-1].event == "done" and data(hit[-1])["usage"] == data(missed[-1])["usage"]
    # A JSON request for the same answer is a hit too: one entry serves both forms.
    assert client.post(COMPLETE_URL, json=ask(tag, tokens=5)).headers["x-cache"] == "HIT"
    assert calls(stack, tag) == 1


def test_temperature_zero_is_cached_by_default_and_other_temperatures_are_not(
    client: httpx.Client, stack: Stack
) -> None:
    cold, warm = new_tag(), new_tag()
    for _ in range(2):
        client.post(COMPLETE_URL, json={**ask(cold, model="fake"), "temperature": 0})
        client.post(COMPLETE_URL, json={**ask(warm, model="fake"), "temperature": 0.7})
    assert (calls(stack, cold), calls(stack, warm)) == (1, 2)


def test_different_parameters_never_share_an_entry(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    base = ask(tag, tokens=4)
    variants = [
        base,
        {**base, "temperature": 0.5},
        {**base, "max_tokens": 40},
        {**base, "stop": ["zz"]},
        {**base, "seed": 7},
        {**base, "model": "cached-chain"},
        {**base, "extra_body": {"logit_bias": {"1": 2}}},
        {**base, "messages": [{"role": "system", "content": "terse"}, *base["messages"]]},
    ]
    caches = [client.post(COMPLETE_URL, json=body).headers["x-cache"] for body in variants]
    assert caches == ["MISS"] * len(variants)
    assert calls(stack, tag) == len(variants)
    # Options that do not shape the answer do not split the entry.
    same = {**base, "timeout_s": 30, "user": "someone"}
    assert client.post(COMPLETE_URL, json=same).headers["x-cache"] == "HIT"


def test_no_cache_skips_reading_and_no_store_skips_writing(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    client.post(COMPLETE_URL, json=ask(tag))
    fresh = client.post(COMPLETE_URL, json=ask(tag), headers={"Cache-Control": "no-cache"})
    assert fresh.headers["x-cache"] == "MISS"
    assert calls(stack, tag) == 2

    unstored = new_tag()
    kept_out = client.post(COMPLETE_URL, json=ask(unstored), headers={"Cache-Control": "no-store"})
    again = client.post(COMPLETE_URL, json=ask(unstored))
    assert (kept_out.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "MISS")
    assert calls(stack, unstored) == 2
    # The body's cache field says the same as the header.
    body_says = {**ask(unstored), "cache": {"no_cache": True}}
    assert client.post(COMPLETE_URL, json=body_says).headers["x-cache"] == "MISS"
    assert calls(stack, unstored) == 3


def test_max_age_refuses_an_entry_older_than_it(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    client.post(COMPLETE_URL, json=ask(tag))
    young_enough = client.post(
        COMPLETE_URL, json=ask(tag), headers={"Cache-Control": "max-age=600"}
    )
    too_old = client.post(COMPLETE_URL, json=ask(tag), headers={"Cache-Control": "max-age=0"})
    assert (young_enough.headers["x-cache"], too_old.headers["x-cache"]) == ("HIT", "MISS")
    assert calls(stack, tag) == 2
    bad = client.post(COMPLETE_URL, json=ask(tag), headers={"Cache-Control": "max-age=soon"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"


def test_a_request_ttl_is_the_entry_lifetime(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    response = client.post(COMPLETE_URL, json={**ask(tag), "cache": {"ttl_s": 5}})
    namespace, digest = response.headers["x-cache-key"].split("/")
    ttl_s = stack.redis.ttl(f"llm:cache:{namespace}:{digest}")
    assert 0 < ttl_s <= 5


def test_a_failed_answer_is_not_cached(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    for _ in range(2):
        failed = client.post(COMPLETE_URL, json=ask(tag, model="cached-faults", status=400))
        assert (failed.status_code, failed.json()["error"]["code"]) == (502, "provider_rejected")
    assert calls(stack, tag) == 2
    # A stream that breaks after some tokens is not cached either.
    broken = new_tag()
    for _ in range(2):
        _, events = stream(client, ask(broken, model="cached-faults", tokens=6, fault="drop_after"))
        assert events[-1].event == "error"
    assert calls(stack, broken) == 2


def test_a_cancelled_stream_is_not_cached(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    body = ask(tag, tokens=100, token_delay_ms=20)
    with connect_sse(client, "POST", STREAM_URL, json=body) as source:
        job_id = source.response.headers["x-job-id"]
        for event in source.iter_sse():
            if event.event == "delta":
                break
    assert wait_for_status(client, job_id, {"cancelled", "succeeded"})["status"] == "cancelled"
    assert stack.fake.wait_for(tag, timeout=10)["outcome"] == "client_closed"
    again = client.post(COMPLETE_URL, json=body)  # the same request, asked again
    assert again.headers["x-cache"] == "MISS"
    assert again.json()["content"] == expected_text(100)
    assert len(stack.fake.requests(tag)) == 2


def test_fallback_events_are_not_replayed(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = f'FAKE:fake-a{{"status": 503}} {directive(tag=tag, tokens=3)}'
    body = chat(prompt, model="cached-chain")
    _, missed = stream(client, body)
    _, hit = stream(client, body)
    assert "fallback" in [e.event for e in missed]
    assert [e.event for e in hit] == [e.event for e in missed if e.event != "fallback"]
    assert content_of(hit) == expected_text(3)


def test_an_answer_over_the_entry_size_cap_is_not_kept(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    big = ask(tag, pieces=["x" * 4000] * 20)  # 80 kB, over the stack's 64 KiB cap
    first = client.post(COMPLETE_URL, json=big)
    second = client.post(COMPLETE_URL, json=big)
    assert len(second.json()["content"]) == 80_000
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "MISS")


def test_each_key_has_its_own_entries_unless_the_model_shares_them(
    client: httpx.Client, stack: Stack
) -> None:
    other = {"Authorization": f"Bearer {create_api_key(stack.base_url, 'cache-other')}"}
    private, shared = new_tag(), new_tag()
    client.post(COMPLETE_URL, json=ask(private))
    theirs = client.post(COMPLETE_URL, json=ask(private), headers=other)
    assert theirs.headers["x-cache"] == "MISS"
    assert calls(stack, private) == 2

    client.post(COMPLETE_URL, json=ask(shared, model="cached-shared"))
    shared_hit = client.post(COMPLETE_URL, json=ask(shared, model="cached-shared"), headers=other)
    assert shared_hit.headers["x-cache"] == "HIT"
    assert calls(stack, shared) == 1


def test_a_background_job_hit_is_a_finished_job(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    first = client.post(JOBS_URL, json=ask(tag, tokens=4)).json()
    wait_for_status(client, first["id"], {"succeeded"})
    second = client.post(JOBS_URL, json=ask(tag, tokens=4))
    assert second.headers["x-cache"] == "HIT"
    job = client.get(f"{JOBS_URL}/{second.json()['id']}").json()
    assert (job["status"], job["cache"]) == ("succeeded", "HIT")
    assert job["result"]["content"] == expected_text(4)
    with connect_sse(client, "GET", f"{JOBS_URL}/{job['id']}/events") as source:
        assert content_of(list(source.iter_sse())) == expected_text(4)
    assert calls(stack, tag) == 1


def test_admin_drops_an_entry_or_a_namespace(client: httpx.Client, stack: Stack) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    one, two = new_tag(), new_tag()
    entry = client.post(COMPLETE_URL, json=ask(one)).headers["x-cache-key"]
    client.post(COMPLETE_URL, json=ask(two))

    dropped = httpx.delete(f"{stack.base_url}/api/v1/admin/cache/{entry}", headers=admin)
    assert dropped.json() == {"dropped": 1}
    assert client.post(COMPLETE_URL, json=ask(one)).headers["x-cache"] == "MISS"
    assert client.post(COMPLETE_URL, json=ask(two)).headers["x-cache"] == "HIT"

    namespace = entry.split("/")[0]
    cleared = httpx.delete(f"{stack.base_url}/api/v1/admin/cache/{namespace}", headers=admin)
    assert cleared.json()["dropped"] >= 2
    assert client.post(COMPLETE_URL, json=ask(two)).headers["x-cache"] == "MISS"
    refused = client.delete(f"/api/v1/admin/cache/{namespace}")  # a client key is no admin
    assert refused.status_code in (401, 403)
    bad = httpx.delete(f"{stack.base_url}/api/v1/admin/cache/key:x/not-a-digest", headers=admin)
    assert bad.status_code == 422


@pytest.mark.parametrize("form", ["json", "stream"])
def test_usage_counts_a_hit_as_saved_tokens(client: httpx.Client, stack: Stack, form: str) -> None:
    key = create_api_key(stack.base_url, f"cache-usage-{form}")
    headers = {"Authorization": f"Bearer {key}"}
    tag = new_tag()
    first = client.post(COMPLETE_URL, json=ask(tag, tokens=7), headers=headers).json()
    if form == "json":
        client.post(COMPLETE_URL, json=ask(tag, tokens=7), headers=headers)
    else:
        stream(client, ask(tag, tokens=7), **headers)

    rows = client.get("/api/v1/usage", headers=headers, params={"group_by": "provider"})
    by_provider = {row["provider"]: row for row in rows.json()["data"]}
    assert by_provider["fake"]["requests"] == 1
    assert by_provider["fake"]["completion_tokens"] == 7
    saved = by_provider["cache"]
    assert (saved["requests"], saved["cache_hits"]) == (1, 1)
    assert (saved["prompt_tokens"], saved["completion_tokens"]) == (0, 0)
    assert saved["saved_tokens"] == first["usage"]["total_tokens"]

    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    metrics = httpx.get(f"{stack.base_url}/metrics", headers=admin).text
    assert 'llm_gateway_cache_requests_total{model="cached",outcome="hit"}' in metrics
