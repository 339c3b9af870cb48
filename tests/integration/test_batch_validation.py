"""Bad input: refused per line at validation (the batch fails, naming each line), oversized
files refused at upload while they stream in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.batch_helpers import create_batch, request_line, start_batch_worker, wait_for_batch
from tests.conftest import Stack
from tests.stack import start_gateway

MAX_REQUESTS = 20
MAX_FILE_BYTES = 4096


@pytest.fixture(scope="module")
def limited_batch_worker(stack: Stack) -> Iterator[None]:
    """A batch worker that takes at most MAX_REQUESTS requests a batch."""
    env = {**stack.env, "LLM_GATEWAY_BATCH__MAX_REQUESTS_PER_BATCH": str(MAX_REQUESTS)}
    worker = start_batch_worker(Stack(**{**stack.__dict__, "env": env}), "batch-worker-limited")
    try:
        yield
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def small_gateway(stack: Stack) -> Iterator[str]:
    """A gateway whose uploads are capped at MAX_FILE_BYTES."""
    env = {**stack.env, "LLM_GATEWAY_BATCH__MAX_FILE_BYTES": str(MAX_FILE_BYTES)}
    process, base_url = start_gateway(env, stack.log_dir, "gateway-small-files")
    try:
        yield base_url
    finally:
        process.stop()


def errors_of(batch: dict[str, Any]) -> list[tuple[int | None, str, str | None]]:
    return [(e["line"], e["code"], e["param"]) for e in batch["errors"]["data"]]


def test_bad_lines_fail_the_batch_with_an_error_per_line(
    limited_batch_worker: None, client: httpx.Client
) -> None:
    good = request_line("good", "hello")
    lines: list[Any] = [
        good,
        b'{"custom_id": "broken", "method": ',
        {**request_line("x", "hi"), "custom_id": None},
        request_line("good", "again"),
        {**request_line("url", "hi"), "url": "/v1/embeddings"},
        {**request_line("method", "hi"), "method": "GET"},
        request_line("n", "hi", n=3),
        request_line("model", "hi", model="no-such-model"),
        b"",  # blank lines are skipped, not refused
        {"custom_id": "nobody", "method": "POST", "url": "/v1/chat/completions", "body": []},
        b"[1, 2]",
    ]
    batch = wait_for_batch(client, create_batch(client, lines)["id"])
    assert batch["status"] == "failed"
    assert batch["failed_at"] is not None
    assert batch["output_file_id"] is None
    assert errors_of(batch) == [
        (2, "invalid_json_line", None),
        (3, "missing_custom_id", "custom_id"),
        (4, "duplicate_custom_id", "custom_id"),
        (5, "invalid_url", "url"),
        (6, "invalid_method", "method"),
        (7, "unsupported_parameter", "body.n"),
        (8, "model_not_found", "body.model"),
        (10, "invalid_request", "body"),
        (11, "invalid_json_line", None),
    ]
    assert all(e["message"] for e in batch["errors"]["data"])


def test_too_many_requests_and_an_empty_file(
    limited_batch_worker: None, client: httpx.Client
) -> None:
    lines = [request_line(f"r{i}", "hi") for i in range(MAX_REQUESTS + 2)]
    batch = wait_for_batch(client, create_batch(client, lines)["id"])
    assert batch["status"] == "failed"
    assert errors_of(batch) == [(MAX_REQUESTS + 1, "too_many_requests", None)]

    empty = wait_for_batch(client, create_batch(client, [b"", b"  "])["id"])
    assert empty["status"] == "failed"
    assert errors_of(empty) == [(None, "empty_file", None)]


def test_native_requests_are_validated_the_same_way(
    limited_batch_worker: None, client: httpx.Client
) -> None:
    answer = client.post(
        "/api/v1/batches",
        json={"requests": [{"custom_id": "a", "body": {"messages": []}}, "not an object"]},
    )
    assert answer.status_code == 202
    batch = wait_for_batch(client, answer.json()["id"])
    assert batch["status"] == "failed"
    assert [(line, code) for line, code, _ in errors_of(batch)] == [
        (1, "invalid_request"),
        (2, "invalid_json_line"),
    ]


def test_an_oversized_upload_is_refused_by_its_length(small_gateway: str, stack: Stack) -> None:
    with httpx.Client(base_url=small_gateway, headers=stack.auth_headers, timeout=30) as client:
        fits = client.post(
            "/v1/files", files={"file": ("ok.jsonl", b"x" * 1000)}, data={"purpose": "batch"}
        )
        assert fits.status_code == 200, fits.text
        answer = client.post(
            "/v1/files",
            files={"file": ("big.jsonl", b"x" * (MAX_FILE_BYTES + 1))},
            data={"purpose": "batch"},
        )
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "file_too_large"
        huge = client.post(
            "/v1/files",
            files={"file": ("huge.jsonl", b"x" * (MAX_FILE_BYTES + 200_000))},
            data={"purpose": "batch"},
        )
        assert huge.status_code == 413


def test_an_oversized_upload_without_a_length_is_refused_as_it_streams(
    small_gateway: str, stack: Stack
) -> None:
    boundary = "batchtestboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n'
    ).encode()

    def body() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield head
        for _ in range(8):
            yield b"y" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    with httpx.Client(base_url=small_gateway, headers=stack.auth_headers, timeout=30) as client:
        answer = client.post(
            "/v1/files",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "file_too_large"


def test_uploads_need_a_file_and_purpose_batch(client: httpx.Client) -> None:
    wrong = client.post("/v1/files", files={"file": ("a.jsonl", b"{}")}, data={"purpose": "x"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "purpose"
    missing = client.post("/v1/files", data={"purpose": "batch"}, files={"other": ("", b"")})
    assert missing.status_code == 400
    not_form = client.post("/v1/files", json={"purpose": "batch"})
    assert not_form.status_code == 400
