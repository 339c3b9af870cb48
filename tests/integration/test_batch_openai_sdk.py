"""The official ``openai`` SDK against the Batch API: upload, create, poll, list, cancel,
download; each answer is also validated against the SDK's own models (it builds them
without validation)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from openai import NotFoundError, OpenAI
from openai.types import Batch, FileDeleted, FileObject

from tests.batch_helpers import batch_worker, jsonl, request_line
from tests.helpers import directive
from tests.openai_helpers import sdk

__all__ = ["batch_worker", "sdk"]  # fixtures these tests use


def strict(model: Batch | FileObject | FileDeleted) -> None:
    type(model).model_validate(model.to_dict())


def poll(sdk: OpenAI, batch_id: str, statuses: set[str]) -> Batch:
    deadline = time.monotonic() + 60
    while True:
        batch = sdk.batches.retrieve(batch_id)
        strict(batch)
        if batch.status in statuses:
            return batch
        assert time.monotonic() < deadline, batch.status
        time.sleep(0.1)


def test_the_sdk_uploads_creates_polls_and_downloads(
    batch_worker: object, sdk: OpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(
        jsonl(
            [
                request_line("one", directive(tokens=2)),
                request_line("two", directive(tokens=3)),
                request_line("three", directive(status=400)),
            ]
        )
    )
    with path.open("rb") as handle:
        uploaded = sdk.files.create(file=handle, purpose="batch")
    strict(uploaded)
    assert uploaded.filename == "requests.jsonl"
    assert uploaded.bytes == path.stat().st_size
    assert sdk.files.retrieve(uploaded.id).id == uploaded.id
    assert sdk.files.content(uploaded.id).content == path.read_bytes()

    created = sdk.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"suite": "sdk"},
    )
    strict(created)
    assert created.status == "validating"
    done = poll(sdk, created.id, {"completed", "failed"})
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (3, 2)
    assert done.output_file_id is not None
    assert done.error_file_id is not None
    assert done.usage is not None
    assert done.usage.output_tokens == 5

    output = [json.loads(line) for line in sdk.files.content(done.output_file_id).text.splitlines()]
    by_id = {line["custom_id"]: line for line in output}
    assert by_id["two"]["response"]["body"]["choices"][0]["message"]["content"] == "t1 t2 t3"
    errors = sdk.files.content(done.error_file_id).text.splitlines()
    assert [json.loads(line)["custom_id"] for line in errors] == ["three"]

    listed = sdk.batches.list(limit=100)
    assert created.id in [batch.id for batch in listed.data]
    for batch in listed.data:
        strict(batch)
    files = sdk.files.list(purpose="batch_output")
    assert done.output_file_id in [file.id for file in files.data]
    for file in files.data:
        strict(file)

    deleted = sdk.files.delete(done.error_file_id)
    strict(deleted)
    assert deleted.deleted
    with pytest.raises(NotFoundError):
        sdk.files.retrieve(done.error_file_id)


def test_the_sdk_cancels_a_batch(batch_worker: object, sdk: OpenAI, tmp_path: Path) -> None:
    lines = [request_line(f"s{i}", directive(tokens=20, token_delay_ms=25)) for i in range(200)]
    path = tmp_path / "slow.jsonl"
    path.write_bytes(jsonl(lines))
    with path.open("rb") as handle:
        uploaded = sdk.files.create(file=handle, purpose="batch")
    created = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    poll(sdk, created.id, {"in_progress"})
    cancelling = sdk.batches.cancel(created.id)
    strict(cancelling)
    assert cancelling.status in {"cancelling", "cancelled"}
    cancelled = poll(sdk, created.id, {"cancelled"})
    assert cancelled.cancelled_at is not None
    assert cancelled.request_counts is not None
    assert cancelled.request_counts.total == 200
    with pytest.raises(NotFoundError):
        sdk.batches.retrieve("batch_does_not_exist")
