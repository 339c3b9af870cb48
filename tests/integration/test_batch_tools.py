"""Batch lines carry tools and images like any chat request: the results hold the tool calls;
a line whose content no provider of its model takes fails validation, naming why."""

from __future__ import annotations

import httpx

from tests.batch_helpers import batch_worker, create_batch, file_lines, request_line, wait_for_batch
from tests.helpers import directive
from tests.tool_helpers import WEATHER, image_part

__all__ = ["batch_worker"]  # the fixture these tests use

LOOK = [{"role": "user", "content": [{"type": "text", "text": "what is it"}, image_part()]}]


def test_batch_lines_with_tools_and_images(batch_worker: object, client: httpx.Client) -> None:
    lines = [
        request_line("tool", directive(tool_calls="auto"), tools=[WEATHER]),
        request_line("image", "", messages=LOOK),
    ]
    batch = wait_for_batch(client, create_batch(client, lines)["id"])
    assert batch["status"] == "completed", batch
    outputs = {line["custom_id"]: line for line in file_lines(client, batch["output_file_id"])}
    tool = outputs["tool"]["response"]["body"]["choices"][0]
    assert tool["finish_reason"] == "tool_calls"
    assert tool["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert outputs["image"]["response"]["body"]["choices"][0]["message"]["content"]


def test_a_line_no_provider_can_take_fails_validation(
    batch_worker: object, client: httpx.Client
) -> None:
    lines = [request_line("no-vision", "", model="ds-chat", messages=LOOK)]
    batch = wait_for_batch(client, create_batch(client, lines)["id"])
    assert batch["status"] == "failed"
    [error] = batch["errors"]["data"]
    assert (error["code"], error["line"]) == ("capability_unsupported", 1)


def test_an_embeddings_batch(batch_worker: object, client: httpx.Client) -> None:
    lines = [
        {
            "custom_id": f"e{i}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "embed", "input": [f"text {i}", "more"]},
        }
        for i in range(3)
    ]
    batch = create_batch(client, lines, endpoint="/v1/embeddings")
    done = wait_for_batch(client, batch["id"])
    assert done["status"] == "completed", done
    outputs = {line["custom_id"]: line for line in file_lines(client, done["output_file_id"])}
    assert set(outputs) == {"e0", "e1", "e2"}
    data = outputs["e1"]["response"]["body"]["data"]
    assert [item["index"] for item in data] == [0, 1]
    assert len(data[0]["embedding"]) == 1536 and isinstance(data[0]["embedding"][0], float)
