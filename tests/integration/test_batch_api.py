"""The Batch API end to end over plain HTTP: files, batches, results, ownership, native JSON."""

from __future__ import annotations

import httpx

from tests.batch_helpers import (
    batch_worker,
    create_batch,
    file_lines,
    jsonl,
    request_line,
    upload,
    wait_for_batch,
)
from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, chat, directive, expected_text, new_tag
from tests.stack import create_api_key

__all__ = ["batch_worker"]  # the module-scoped fixture these tests use


def test_a_batch_runs_every_line_and_splits_results_into_output_and_error_files(
    batch_worker: object, client: httpx.Client
) -> None:
    lines = [request_line(f"ok-{i}", directive(tokens=i + 1)) for i in range(5)]
    lines.append(request_line("bad", directive(status=400, error_message="no such thing")))
    batch = create_batch(client, lines, metadata={"project": "tests"})
    assert batch["object"] == "batch"
    assert batch["status"] == "validating"
    assert batch["metadata"] == {"project": "tests"}

    done = wait_for_batch(client, batch["id"])
    assert done["status"] == "completed", done
    assert done["request_counts"] == {"total": 6, "completed": 5, "failed": 1}
    for stamp in ("in_progress_at", "finalizing_at", "completed_at"):
        assert done[stamp] >= batch["created_at"]
    assert done["usage"]["output_tokens"] == sum(range(1, 6))

    output = {line["custom_id"]: line for line in file_lines(client, done["output_file_id"])}
    assert sorted(output) == [f"ok-{i}" for i in range(5)]
    first = output["ok-2"]
    assert first["id"].startswith("batch_req_")
    assert first["error"] is None
    assert first["response"]["status_code"] == 200
    completion = first["response"]["body"]
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == expected_text(3)
    # The request ran as a job of the batch's key, readable by its id.
    job = client.get(f"/api/v1/jobs/{first['response']['request_id']}").json()
    assert job["status"] == "succeeded"

    errors = file_lines(client, done["error_file_id"])
    assert [e["custom_id"] for e in errors] == ["bad"]
    assert errors[0]["response"]["status_code"] >= 400
    assert errors[0]["response"]["body"]["error"]["code"] == errors[0]["error"]["code"]

    output_file = client.get(f"/v1/files/{done['output_file_id']}").json()
    assert output_file["purpose"] == "batch_output"
    assert output_file["object"] == "file"


def test_the_native_api_takes_requests_as_json(batch_worker: object, client: httpx.Client) -> None:
    answer = client.post(
        "/api/v1/batches",
        json={
            "requests": [
                {"custom_id": "a", "body": {"messages": [{"role": "user", "content": "hi"}]}},
                {"custom_id": "b", "body": {"messages": [{"role": "user", "content": "yo"}]}},
            ],
            "metadata": {"via": "native"},
        },
    )
    assert answer.status_code == 202, answer.text
    batch = answer.json()
    assert answer.headers["location"] == f"/v1/batches/{batch['id']}"
    done = wait_for_batch(client, batch["id"])
    assert done["status"] == "completed"
    assert {line["custom_id"] for line in file_lines(client, done["output_file_id"])} == {"a", "b"}
    assert done["error_file_id"] is None


def test_another_key_sees_neither_the_batch_nor_its_files(
    batch_worker: object, stack: Stack, client: httpx.Client
) -> None:
    batch = create_batch(client, [request_line("x", directive(tokens=2))])
    done = wait_for_batch(client, batch["id"])
    other_key = create_api_key(stack.base_url, "batch-outsider")
    with httpx.Client(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {other_key}"}, timeout=30
    ) as other:
        for path in (
            f"/v1/batches/{batch['id']}",
            f"/v1/files/{batch['input_file_id']}",
            f"/v1/files/{done['output_file_id']}/content",
        ):
            answer = other.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["error"]["code"] in {"batch_not_found", "file_not_found"}
        assert other.post(f"/v1/batches/{batch['id']}/cancel").status_code == 404
        assert other.get("/v1/batches").json()["data"] == []
        refused = other.post(
            "/v1/batches",
            json={
                "input_file_id": batch["input_file_id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
        )
        assert refused.status_code == 404


def test_lists_page_with_cursors(client: httpx.Client, stack: Stack) -> None:
    key = create_api_key(stack.base_url, "batch-lister")
    with httpx.Client(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as mine:
        made = [create_batch(mine, [request_line(f"l{i}", "hi")])["id"] for i in range(3)]
        first = mine.get("/v1/batches", params={"limit": 2}).json()
        assert first["object"] == "list"
        assert [b["id"] for b in first["data"]] == made[::-1][:2]
        assert first["has_more"] is True
        assert first["last_id"] == made[1]
        rest = mine.get("/v1/batches", params={"limit": 2, "after": first["last_id"]}).json()
        assert [b["id"] for b in rest["data"]] == [made[0]]
        assert rest["has_more"] is False
        files = mine.get("/v1/files", params={"purpose": "batch", "order": "asc"}).json()
        assert len(files["data"]) == 3


def test_file_round_trip_and_delete(client: httpx.Client) -> None:
    content = jsonl([request_line("f", "hello")])
    created = upload(client, content, filename="../../etc/my batch.jsonl")
    assert created["id"].startswith("file-")
    assert created["bytes"] == len(content)
    assert created["filename"] == "my batch.jsonl"
    assert created["purpose"] == "batch"
    assert created["status"] == "processed"
    assert client.get(f"/v1/files/{created['id']}").json() == created
    assert client.get(f"/v1/files/{created['id']}/content").content == content
    deleted = client.delete(f"/v1/files/{created['id']}").json()
    assert deleted == {"id": created["id"], "object": "file", "deleted": True}
    assert client.get(f"/v1/files/{created['id']}").status_code == 404


def test_creation_refuses_bad_parameters(client: httpx.Client) -> None:
    file = upload(client, jsonl([request_line("p", "hi")]))

    def create(**change: object) -> httpx.Response:
        body = {
            "input_file_id": file["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            **change,
        }
        return client.post("/v1/batches", json=body)

    for change, param in (
        ({"endpoint": "/v1/completions"}, "endpoint"),  # embeddings run now; this does not
        ({"completion_window": "7d"}, "completion_window"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
    ):
        answer = create(**change)
        assert answer.status_code == 400, (change, answer.text)
        assert answer.json()["error"]["param"] == param
    assert create(input_file_id="file-nope").status_code == 404
    assert client.post("/v1/batches/batch_nope/cancel").status_code == 404
    assert client.get("/v1/batches/batch_nope").json()["error"]["code"] == "batch_not_found"


def test_a_batch_line_is_answered_from_the_response_cache(
    batch_worker: object, client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    prompt = f"cached line {directive(tag=tag, tokens=4)}"
    # The interactive API stores the answer; the batch's line for the same request reuses it.
    first = client.post(COMPLETE_URL, json={**chat(prompt), "model": "cached"})
    assert first.headers["x-cache"] == "MISS"
    batch = create_batch(client, [request_line("again", prompt, model="cached")])
    done = wait_for_batch(client, batch["id"])

    assert (done["status"], done["request_counts"]["completed"]) == ("completed", 1)
    [line] = file_lines(client, done["output_file_id"])
    answer = line["response"]["body"]["choices"][0]["message"]["content"]
    assert answer == first.json()["content"] == expected_text(4)
    assert len(stack.fake.requests(tag)) == 1
