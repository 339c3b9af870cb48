"""Stream tokens and resumable streams over HTTP, with a real SSE client: what a page's
EventSource relies on, checked without a browser."""

from __future__ import annotations

import json
import uuid

import httpx
from httpx_sse import connect_sse

from tests.conftest import Stack
from tests.helpers import (
    JOBS_URL,
    STREAM_URL,
    chat,
    content_of,
    directive,
    expected_text,
    new_tag,
    wait_for_status,
)
from tests.stack import ADMIN_KEY, create_api_key

TOKENS_URL = "/api/v1/stream-tokens"


def refusal(response: httpx.Response) -> dict[str, object]:
    """The one event a refused token request carries (and its id, which ends EventSource)."""
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    fields = dict(line.split(": ", 1) for line in response.text.splitlines() if ": " in line)
    assert (fields["id"], fields["event"]) == ("refused", "error")
    data: dict[str, object] = json.loads(fields["data"])
    return data


def test_a_jobs_token_reads_its_events_without_a_key(client: httpx.Client, stack: Stack) -> None:
    job = client.post(JOBS_URL, json={"prompt": f"hi {directive(tokens=5)}"}).json()
    url = job["links"]["event_source"]
    assert stack.api_key not in url  # the key never sits in a URL
    with httpx.Client(base_url=stack.base_url, timeout=30) as keyless:
        with connect_sse(keyless, "GET", url) as source:
            events = list(source.iter_sse())
        assert events[0].retry == 2000  # the `retry:` hint (sse_retry_ms), on the first event
        assert content_of(events) == expected_text(5)
        # The token reads no other route, and no other job.
        assert keyless.get(job["links"]["self"] + "?" + url.split("?")[1]).status_code == 401
        other = client.post(JOBS_URL, json={"prompt": "other"}).json()
        assert refusal(keyless.get(url.replace(job["id"], other["id"])))["status"] == 403
        forged = keyless.get(url[:-3] + "xyz")
        assert refusal(forged)["code"] == "unauthorized"
        # After the refusal, EventSource's reconnect (Last-Event-ID: refused) is told to stop.
        assert keyless.get(url, headers={"Last-Event-ID": "refused"}).status_code == 204


def test_a_revoked_keys_tokens_are_refused(stack: Stack) -> None:
    key = create_api_key(stack.base_url, f"revoked-{new_tag()}")
    mine = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.base_url, headers=mine, timeout=30) as http:
        made = http.post(TOKENS_URL, json={}).json()
    key_id = key.split("-")[1]
    revoked = httpx.delete(
        f"{stack.base_url}/api/v1/admin/keys/{key_id}",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert revoked.status_code == 200
    answer = httpx.get(stack.base_url + made["url"] + "&prompt=hello")
    assert refusal(answer)["code"] == "unauthorized"


def test_a_stream_with_an_id_resumes_and_never_runs_twice(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    stream_id = uuid.uuid4().hex
    params = {
        "stream_id": stream_id,
        "prompt": f"x {directive(tokens=12, token_delay_ms=30, tag=tag)}",
    }
    first = []
    with connect_sse(client, "GET", STREAM_URL, params=params) as source:
        assert source.response.headers["x-job-id"] == stream_id
        for event in source.iter_sse():
            first.append(event)
            if event.id == "4":
                break  # the connection drops; the job goes on
    resumed = {"Last-Event-ID": "4"}
    with connect_sse(client, "GET", STREAM_URL, params=params, headers=resumed) as source:
        rest = list(source.iter_sse())
    assert [e.id for e in first + rest] == [str(n) for n in range(1, len(first + rest) + 1)]
    assert rest[-1].event == "done"
    assert content_of(first + rest) == expected_text(12)
    ended = client.get(STREAM_URL, params=params, headers={"Last-Event-ID": rest[-1].id})
    assert ended.status_code == 204
    stack.fake.wait_for(tag)
    assert len(stack.fake.requests(tag=tag)) == 1
    # Another key cannot take the id over.
    other = create_api_key(stack.base_url, f"other-{new_tag()}")
    taken = httpx.get(
        stack.base_url + STREAM_URL, params=params, headers={"Authorization": f"Bearer {other}"}
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "conflict")


def test_a_reconnect_to_a_stream_without_an_id_starts_nothing(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    params = {"prompt": f"x {directive(tag=tag)}"}
    answer = client.get(STREAM_URL, params=params, headers={"Last-Event-ID": "35"})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_resumable"
    assert stack.fake.requests(tag=tag) == []


def test_unnamed_events_and_prompt_in_a_post_body(client: httpx.Client) -> None:
    body = {"prompt": f"x {directive(tokens=3)}", "system": "be brief"}
    with connect_sse(client, "POST", STREAM_URL, json=body, params={"named": "false"}) as source:
        events = list(source.iter_sse())
    assert {e.event for e in events} == {"message"}  # EventSource's onmessage gets them all
    assert [json.loads(e.data)["type"] for e in events][-1] == "done"
    assert "".join(json.loads(e.data).get("content", "") for e in events) == expected_text(3)
    both = client.post(STREAM_URL, json={"prompt": "x", **chat("y")})
    assert (both.status_code, both.json()["error"]["code"]) == (422, "invalid_request")


def test_the_callers_latest_jobs_are_listed(client: httpx.Client, stack: Stack) -> None:
    slow = client.post(JOBS_URL, json={"prompt": f"s {directive(tokens=300, token_delay_ms=50)}"})
    job = slow.json()
    try:
        wait_for_status(client, job["id"], {"running"})
        live = client.get(JOBS_URL, params={"live": "true"}).json()["data"]
        assert job["id"] in [j["id"] for j in live]
        assert all(j["status"] in ("queued", "running") for j in live)
        assert "request" not in live[0] and "result" not in live[0]
        stranger = create_api_key(stack.base_url, f"stranger-{new_tag()}")
        theirs = httpx.get(
            stack.base_url + JOBS_URL, headers={"Authorization": f"Bearer {stranger}"}
        ).json()["data"]
        assert job["id"] not in [j["id"] for j in theirs]
    finally:
        client.delete(f"{JOBS_URL}/{job['id']}")


def test_the_api_document_describes_keys_and_event_streams(stack: Stack) -> None:
    document = httpx.get(f"{stack.base_url}/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearer": []}, {"apiKey": []}]
    for path in ("/api/v1/llm/complete/stream", "/api/v1/jobs/{job_id}/events"):
        get = document["paths"][path]["get"]
        assert list(get["responses"]["200"]["content"]) == ["text/event-stream"], path
        assert {"streamToken": []} in get["security"]
    assert document["paths"]["/api/v1/health/live"]["get"]["security"] == []


def test_cors_is_off_unless_configured(stack: Stack) -> None:
    preflight = httpx.options(
        f"{stack.base_url}/api/v1/jobs",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
