"""Bad input gets a 4xx with a stable code, never a 500 and never a hung stream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import COMPLETE_URL, JOBS_URL, STREAM_URL

USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": []}, "messages"),
        ({}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
        ({"messages": [{"role": "user", "content": 5}]}, "content"),
        ({"messages": [{"role": "user"}]}, "content"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [USER], "temperature": "hot"}, "temperature"),
        ({"messages": [USER], "temperature": 3}, "temperature"),
        ({"messages": [USER], "max_tokens": 1.5}, "max_tokens"),
        ({"messages": [USER], "max_tokens": 0}, "max_tokens"),
        ({"messages": [USER], "top_p": -0.1}, "top_p"),
        ({"messages": [USER], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": [USER], "surprise": True}, "surprise"),
    ],
)
@pytest.mark.parametrize("url", [COMPLETE_URL, STREAM_URL, JOBS_URL])
def test_invalid_requests_get_422_naming_the_field(
    client: httpx.Client, url: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(url, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert any(field in ".".join(map(str, d["loc"])) or field in d["msg"] for d in error["details"])


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        COMPLETE_URL, content=b'{"messages": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"


def test_oversized_body_is_413(client: httpx.Client) -> None:
    huge = {"messages": [{"role": "user", "content": "x" * 2_000_000}]}
    response = client.post(STREAM_URL, json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_oversized_chunked_body_is_413(client: httpx.Client) -> None:
    def chunks() -> Any:
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}]}'

    response = client.post(
        COMPLETE_URL, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_unknown_model_is_404_pointing_at_the_model_list(client: httpx.Client) -> None:
    response = client.post(COMPLETE_URL, json={"messages": [USER], "model": "gpt-nonexistent"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found"
    assert "/api/v1/llm/models" in error["message"]
    models = client.get("/api/v1/llm/models").json()["data"]
    assert {"fake", "demo"} <= {m["id"] for m in models}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"prompt": "a", "messages": "[]"},
        {"messages": "not json"},
        {"messages": '[{"role": "user"}]'},
        {"prompt": "hi", "temperature": "warm"},
    ],
)
def test_bad_query_stream_requests_are_422(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get(STREAM_URL, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_unknown_job_is_404_and_bad_last_event_id_is_422(client: httpx.Client) -> None:
    missing = client.get(f"{JOBS_URL}/0123456789abcdef")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "job_not_found"
    assert client.get(f"{JOBS_URL}/0123456789abcdef/events").status_code == 404
    assert client.delete(f"{JOBS_URL}/0123456789abcdef").status_code == 404

    job = client.post(JOBS_URL, json={"messages": [USER], "model": "demo"}).json()
    bad = client.get(job["links"]["events"], headers={"Last-Event-ID": "latest"})
    assert bad.status_code == 422


def test_unknown_route_is_a_json_404(client: httpx.Client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
