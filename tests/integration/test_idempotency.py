"""``Idempotency-Key`` on job and batch submission: a repeat gets what the first request made and
runs nothing again; the same key with another body is a 409; keys are each API key's own."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from openai import OpenAI

from tests.conftest import Stack
from tests.helpers import JOBS_URL, chat, directive, wait_for_status
from tests.stack import create_api_key

pytestmark = pytest.mark.integration


def test_a_repeated_job_submission_returns_the_same_job_and_runs_once(
    stack: Stack, client: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:10]
    body = chat(directive(tokens=4, tag=tag))
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = client.post(JOBS_URL, json=body, headers=key)
    assert first.status_code == 202
    again = client.post(JOBS_URL, json=body, headers=key)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    wait_for_status(client, first.json()["id"], {"succeeded"})
    later = client.post(JOBS_URL, json=body, headers=key)
    assert (later.json()["id"], later.json()["status"]) == (first.json()["id"], "succeeded")
    assert len(stack.fake.requests(tag)) == 1

    other_body = client.post(JOBS_URL, json=chat(directive(tokens=5)), headers=key)
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "idempotency_conflict"

    # Another API key's same Idempotency-Key is its own.
    other = create_api_key(stack.base_url, "idempotency-other")
    theirs = client.post(
        JOBS_URL, json=body, headers={**key, "Authorization": f"Bearer {other}"}
    ).json()
    assert theirs["id"] != first.json()["id"]


@pytest.mark.parametrize("bad", ["", "has space", "x" * 256])
def test_a_malformed_idempotency_key_is_422(client: httpx.Client, bad: str) -> None:
    response = client.post(JOBS_URL, json=chat("hi"), headers={"Idempotency-Key": bad})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_repeated_batch_submissions_return_the_same_batch(
    stack: Stack, client: httpx.Client
) -> None:
    requests = [{"custom_id": "a", "body": {"model": "demo", **chat("hi")}}]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/api/v1/batches", json={"requests": requests}, headers=key)
    assert first.status_code == 202, first.text
    again = client.post("/api/v1/batches", json={"requests": requests}, headers=key)
    assert again.json()["id"] == first.json()["id"]
    changed = client.post(
        "/api/v1/batches", json={"requests": requests, "metadata": {"x": "y"}}, headers=key
    )
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_conflict"

    sdk = OpenAI(base_url=f"{stack.base_url}/v1", api_key=str(stack.api_key), max_retries=0)
    upload = sdk.files.create(
        file=io.BytesIO(
            b'{"custom_id": "a", "method": "POST", '
            b'"url": "/v1/chat/completions", "body": '
            b'{"model": "demo", "messages": [{"role": '
            b'"user", "content": "hi"}]}}\n'
        ),
        purpose="batch",
    )
    header = {"Idempotency-Key": uuid.uuid4().hex}
    made = [
        sdk.batches.create(
            input_file_id=upload.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            extra_headers=header,
        ).id
        for _ in range(2)
    ]
    assert made[0] == made[1]
    listed = [b.id for b in sdk.batches.list(limit=100)]
    assert listed.count(made[0]) == 1
