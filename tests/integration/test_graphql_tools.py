"""Tools and content parts over GraphQL: a tool loop through `complete`, tool-call fragments in
`completeStream`, and images as parts."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Stack
from tests.graphql_helpers import collect, http_client, request, ws_session
from tests.helpers import directive, new_tag
from tests.tool_helpers import PNG, WEATHER

COMPLETE = """
query Complete($messages: [ChatMessageInput!]!, $options: CompletionOptionsInput) {
  complete(messages: $messages, options: $options) {
    jobId content finishReason
    toolCalls { id type function { name arguments } }
    usage { promptTokens cacheWrite5mTokens cacheWrite1hTokens }
  }
}"""
STREAM_TOOLS = """
subscription Stream($messages: [ChatMessageInput!]!, $options: CompletionOptionsInput) {
  completeStream(messages: $messages, options: $options) {
    seq type done finishReason toolCalls { index id name arguments }
  }
}"""
TOOLS = [
    {
        "function": {
            "name": WEATHER["function"]["name"],
            "parameters": WEATHER["function"].get("parameters"),
        }
    }
]


async def test_a_tool_loop_through_complete(stack: Stack) -> None:
    tag = new_tag()
    ask = [{"role": "user", "content": f"weather? {directive(tag=tag, tool_calls='auto')}"}]
    options: dict[str, Any] = {"model": "fake", "tools": TOOLS, "toolChoice": "auto"}
    async with http_client(stack) as session:
        first = (await session.execute(request(COMPLETE, messages=ask, options=options)))[
            "complete"
        ]
        assert first["finishReason"] == "tool_calls"
        [call] = first["toolCalls"]
        assert call["function"]["name"] == "get_weather"
        assert "city" in json.loads(call["function"]["arguments"])
        turn = [
            *ask,
            {"role": "assistant", "toolCalls": [call]},
            {"role": "tool", "toolCallId": call["id"], "content": "18C"},
        ]
        second = (await session.execute(request(COMPLETE, messages=turn, options=options)))[
            "complete"
        ]
    assert second["finishReason"] == "stop" and second["content"]
    sent = stack.fake.requests(tag)[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call["id"]
    assert sent[2] == {"role": "tool", "tool_call_id": call["id"], "content": "18C"}


async def test_tool_call_fragments_stream_over_a_subscription(stack: Stack) -> None:
    ask = [{"role": "user", "content": directive(tool_calls="auto", chunk_chars=4)}]
    async with ws_session(stack, "graphql-transport-ws") as session:
        items = await collect(
            session, STREAM_TOOLS, messages=ask, options={"model": "fake", "tools": TOOLS}
        )
    fragments = [f for item in items for f in item["toolCalls"] or ()]
    assert fragments[0]["id"] and fragments[0]["name"] == "get_weather"
    assert all(f["id"] is None for f in fragments[1:])
    assert isinstance(json.loads("".join(f["arguments"] for f in fragments)), dict)
    assert items[-1]["done"] and items[-1]["finishReason"] == "tool_calls"


async def test_an_image_goes_as_a_part(stack: Stack) -> None:
    tag = new_tag()
    parts = [
        {"type": "text", "text": f"what is it {directive(tag=tag, tokens=2)}"},
        {"type": "image_url", "imageUrl": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
    ]
    async with http_client(stack) as session:
        await session.execute(
            request(
                COMPLETE, messages=[{"role": "user", "parts": parts}], options={"model": "fake"}
            )
        )
    [image] = stack.fake.wait_for(tag)["parts"]
    assert (image["type"], image["media_type"], image["detail"]) == (
        "image_url",
        "image/png",
        "low",
    )


EMBED = """
query Embed($input: [String!]!, $options: EmbedOptionsInput) {
  embed(input: $input, options: $options) { model dimensions vectors usage { promptTokens } }
}"""


async def test_embed_over_graphql(stack: Stack) -> None:
    async with http_client(stack) as session:
        result = await session.execute(
            request(EMBED, input=["one", "two"], options={"model": "embed", "dimensions": 32})
        )
    embedded = result["embed"]
    assert embedded["dimensions"] == 32
    assert [len(v) for v in embedded["vectors"]] == [32, 32]
    assert embedded["usage"]["promptTokens"] > 0
