"""Input past the bounds every parser keeps (64-bit integers, nesting, header sizes and values,
resume points, deadlines, stalled requests) gets 400, 408, 422 or 431 with a stable code in the
front end's own shape, never a 5xx, and the connection stays usable."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, JOBS_URL, STREAM_URL, chat, directive, wait_for_status
from tests.stack import ADMIN_KEY

pytestmark = pytest.mark.integration
HUGE = 2**70
USER = {"role": "user", "content": "hi"}


def local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    port: int = stream.get_extra_info("socket").getsockname()[1]
    return port


def still_usable(client: httpx.Client, bad: httpx.Response) -> None:
    """The next request goes over the same keep-alive connection."""
    good = client.get("/api/v1/llm/models")
    assert good.status_code == 200
    assert local_port(good) == local_port(bad)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (COMPLETE_URL, {"messages": [USER], "seed": HUGE}),
        (STREAM_URL, {"messages": [USER], "seed": -HUGE}),
        (JOBS_URL, {"messages": [USER], "extra_body": {"logit_bias": {"50256": HUGE}}}),
        (JOBS_URL, {"messages": [USER], "extra_body": {"deep": [[[[[[[[1]]]]]]]] * 2, "n": HUGE}}),
        (COMPLETE_URL, {"messages": [USER], "cache": {"max_age_s": HUGE}}),
        (COMPLETE_URL, {"messages": [USER], "timeout_s": 1e-9}),
        (JOBS_URL, {"messages": [USER], "timeout_s": 0.5}),
    ],
)
def test_native_bodies_past_the_bounds_are_422(
    client: httpx.Client, url: str, body: dict[str, Any]
) -> None:
    response = client.post(url, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    still_usable(client, response)


@pytest.mark.parametrize(
    "extra",
    [
        {"seed": HUGE},
        {"logit_bias": {"50256": HUGE}},
        {"response_format": {"type": "json_schema", "json_schema": {"maxLength": HUGE}}},
        {"extra_body": {"n": HUGE}},
        {"timeout_s": 1e-9},
    ],
)
def test_openai_bodies_past_the_bounds_are_400(client: httpx.Client, extra: dict[str, Any]) -> None:
    response = client.post("/v1/chat/completions", json={"model": "fake", **chat("hi"), **extra})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["type"] == "invalid_request_error"
    still_usable(client, response)


def test_key_limits_and_batch_bodies_past_the_bounds_are_422(
    stack: Stack, client: httpx.Client
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for limits in ({"rpm": HUGE}, {"requests_per_minute": HUGE}):
        key = client.post("/api/v1/admin/keys", json={"name": "x", "limits": limits}, headers=admin)
        assert key.status_code == 422, key.text
    budget = b'{"name": "x", "budget": {"limit_usd": 1e400, "period": "day"}}'  # infinity
    headers = {**admin, "content-type": "application/json"}
    refused = client.post("/api/v1/admin/keys", content=budget, headers=headers)
    assert refused.status_code == 422, refused.text
    batch = client.post(
        "/api/v1/batches",
        json={"requests": [{"custom_id": "a", "body": {**chat("hi"), "seed": HUGE}}]},
    )
    assert batch.status_code == 422, batch.text
    assert batch.json()["error"]["code"] == "invalid_request"
    still_usable(client, batch)


@pytest.mark.parametrize("url", ["/graphql", COMPLETE_URL, "/v1/chat/completions"])
def test_json_nested_past_any_parser_is_400(client: httpx.Client, url: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post(url, content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    body = response.json()
    code = body["errors"][0]["extensions"]["code"] if "errors" in body else body["error"]["code"]
    assert code.lower() == "malformed_body"
    still_usable(client, response)


@pytest.mark.parametrize(
    "value",
    ["max-age=\xb2".encode("latin-1"), b"max-age=" + b"9" * 5000, b"max-age=-1", b"max-age"],
)
def test_a_garbage_cache_control_is_422(client: httpx.Client, value: bytes) -> None:
    response = client.post(COMPLETE_URL, json=chat("hi"), headers=[(b"Cache-Control", value)])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    still_usable(client, response)


def test_resume_points_past_any_seq_are_422_and_past_the_end_tell_the_ending(
    client: httpx.Client,
) -> None:
    job = client.post(JOBS_URL, json=chat(directive(tokens=3))).json()
    wait_for_status(client, job["id"], {"succeeded"})
    events_url = job["links"]["events"]
    for bad in ("9" * 5000, str(2**64), "-1", "1e3"):
        response = client.get(events_url, headers={"Last-Event-ID": bad})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"
    response = client.get(events_url, params={"after": 2**64})
    assert response.status_code == 422
    still_usable(client, response)
    # Within range but past the job's end: the job has ended and nothing follows (204, which
    # stops EventSource's retries), not "lost Redis".
    past_the_end = client.get(events_url, headers={"Last-Event-ID": str(2**62)})
    assert past_the_end.status_code == 204


def test_a_huge_or_numerous_header_is_431(stack: Stack, client: httpx.Client) -> None:
    big = client.get("/api/v1/llm/models", headers={"X-Big": "x" * 1_000_000})
    assert big.status_code == 431
    assert big.json()["error"]["code"] == "request_header_too_large"
    many = client.get("/api/v1/llm/models", headers={f"X-H{i}": "v" for i in range(10_000)})
    assert many.status_code == 431
    assert client.get("/api/v1/llm/models").status_code == 200  # a new connection is fine


def test_a_request_that_stalls_is_answered_408_and_closed(stack: Stack) -> None:
    address = urlsplit(stack.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n")  # never finished
        answer = b""
        while chunk := sock.recv(4096):  # until the server closes (else the socket times out)
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"request_timeout" in answer
