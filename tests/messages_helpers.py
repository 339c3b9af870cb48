"""What the tests of the Messages API (the official ``anthropic`` SDK, raw HTTP) share."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anthropic import Anthropic
from anthropic.types import Message, MessageParam, ToolParam

from tests.conftest import Stack

MESSAGES_URL = "/v1/messages"
HEADERS = {"anthropic-version": "2023-06-01"}
# A 1x1 PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
    "AAAABJRU5ErkJggg=="
)
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "units": {"enum": ["c", "f"]}},
        "required": ["city", "units"],
    },
}
STOCK: ToolParam = {
    "name": "get_stock_price",
    "input_schema": {
        "type": "object",
        "properties": {"ticker": {"type": "string"}},
        "required": ["ticker"],
    },
}


@pytest.fixture
def claude(stack: Stack) -> Iterator[Anthropic]:
    """The SDK pointed at the gateway with the stack's key; no retries, so tests see errors."""
    with Anthropic(base_url=stack.base_url, api_key=stack.api_key, max_retries=0) as client:
        yield client


def user(text: str) -> list[MessageParam]:
    return [{"role": "user", "content": text}]


def ask(client: Anthropic, stream: bool, **arguments: Any) -> Message:
    """A message, asked for whole or streamed (the SDK's accumulator builds it)."""
    arguments.setdefault("max_tokens", 300)
    if not stream:
        message: Message = client.messages.create(**arguments)
        return message
    with client.messages.stream(**arguments) as running:
        return running.get_final_message()


def streamed_text(client: Anthropic, received: list[str], **arguments: Any) -> None:
    """Stream a message, keeping its text in ``received`` as it comes."""
    with client.messages.stream(**arguments) as running:
        received.extend(running.text_stream)


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """A raw Messages stream as (event line, data) pairs; every event must name itself."""
    events: list[tuple[str, dict[str, Any]]] = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        assert "event" in lines, f"an event without its event: line: {block!r}"
        data: dict[str, Any] = json.loads(lines["data"])
        assert data["type"] == lines["event"]
        events.append((lines["event"], data))
    return events


def check_block_order(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Blocks numbered 0, 1, 2..., each started, fed and stopped before the next starts."""
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    open_index: int | None = None
    expected = 0
    for name, data in events:
        if name == "content_block_start":
            assert open_index is None and data["index"] == expected
            open_index = expected
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, expected = None, expected + 1
    assert open_index is None
    delta = next(data for name, data in events if name == "message_delta")
    assert isinstance(delta["usage"]["output_tokens"], int)
