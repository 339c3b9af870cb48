"""The request shapes bench.cpu (and bench.floor) send, and one checked request of each,
to the gateway or straight to the fake provider."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.stack import BenchStack
from tests.stack import FAKE_KEY

# Gateway model -> the upstream model the fake serves it as, and in which API.
UPSTREAMS = {
    "fake": ("fake-model", "chat"),
    "claude": ("claude-sonnet-4-20250514", "messages"),
    "embed": ("text-embedding-3-small", "embeddings"),
}
EMBEDDING_INPUTS = [f"benchmark sentence number {n} to embed" for n in range(8)]
TOOL_NAME = "search"
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}
# 256 characters of JSON: 32 fragments of the fake's 8 characters.
ARGUMENTS = {"query": "q" * 243}


@dataclass(frozen=True)
class Shape:
    name: str
    title: str
    stream: bool
    tokens: int
    token_delay_ms: float = 0.0
    cached: bool = False  # temperature 0, repeated: the gateway answers from its cache
    api: str = "chat"  # or "responses", "messages", "embeddings": the gateway's API it is sent to
    model: str = "fake"  # the gateway's model (UPSTREAMS: what the direct call asks)
    tool_call: bool = False  # the answer is one tool call, its arguments streamed in fragments
    history_chars: int = 0  # earlier turns before the prompt, about this many characters (chat)

    def text(self) -> str:
        directive: dict[str, Any] = {"tokens": self.tokens}
        if self.tool_call:
            directive = {"tool_calls": [{"name": TOOL_NAME, "arguments": ARGUMENTS}]}
        if self.token_delay_ms:
            directive["token_delay_ms"] = int(self.token_delay_ms)
        return "benchmark FAKE" + json.dumps(directive)

    @property
    def path(self) -> str:
        paths = {
            "responses": "/v1/responses",
            "messages": "/v1/messages",
            "embeddings": "/v1/embeddings",
        }
        return paths.get(self.api, "/v1/chat/completions")

    def gateway_body(self, model: str) -> dict[str, Any]:
        if self.api == "responses":
            return {"model": model, "input": self.text(), "stream": self.stream}
        if self.api == "messages":
            return self.messages_body(model)
        if self.api == "embeddings":
            return self.embeddings_body(model)
        return self.body(model)

    def embeddings_body(self, model: str) -> dict[str, Any]:
        # base64: what the openai SDK asks for unless told otherwise.
        return {"model": model, "input": EMBEDDING_INPUTS, "encoding_format": "base64"}

    def messages_body(self, model: str) -> dict[str, Any]:
        content = [{"role": "user", "content": self.text()}]
        return {"model": model, "max_tokens": 1000, "messages": content, "stream": self.stream}

    def history(self) -> list[dict[str, str]]:
        """Earlier turns, user and assistant in turn, 2,500 characters each, as agents resend
        their whole conversation every turn."""
        turns = self.history_chars // 2500
        words = " ".join(f"word{n}" for n in range(400))[:2500]
        return [
            {"role": "user" if n % 2 == 0 else "assistant", "content": f"{n} {words}"}
            for n in range(turns - turns % 2)
        ]

    def body(self, model: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [*self.history(), {"role": "user", "content": self.text()}],
        }
        if self.stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        if self.tool_call:
            body["tools"] = [TOOL]
        if self.cached:
            body["temperature"] = 0
        return body


SHAPES = {
    shape.name: shape
    for shape in (
        Shape("json", "JSON answer, 16 tokens", stream=False, tokens=16),
        Shape("json-long", "JSON answer, 512 tokens", stream=False, tokens=512),
        Shape(
            "messages-json",
            "Messages API JSON answer from an Anthropic model, 512 tokens",
            stream=False,
            tokens=512,
            api="messages",
            model="claude",
        ),
        Shape(
            "json-100k",
            "JSON answer, 16 tokens, after a 100 KB conversation",
            stream=False,
            tokens=16,
            history_chars=100_000,
        ),
        Shape("stream", "stream, 32 tokens 5 ms apart", stream=True, tokens=32, token_delay_ms=5),
        Shape("hit", "cache hit (the JSON request, temperature 0)", False, 16, cached=True),
        Shape(
            "hit-stream",
            "cache hit of a stream, 64 tokens 5 ms apart (temperature 0)",
            stream=True,
            tokens=64,
            token_delay_ms=5,
            cached=True,
        ),
        Shape(
            "responses",
            "Responses API stream, 32 tokens 5 ms apart",
            stream=True,
            tokens=32,
            token_delay_ms=5,
            api="responses",
        ),
        Shape(
            "messages",
            "Messages stream to an Anthropic model, 32 tokens 5 ms apart",
            stream=True,
            tokens=32,
            token_delay_ms=5,
            api="messages",
            model="claude",
        ),
        Shape(
            "messages-oai",
            "Messages stream to an OpenAI-compatible model, 32 tokens 5 ms apart",
            stream=True,
            tokens=32,
            token_delay_ms=5,
            api="messages",
        ),
        Shape(
            "tools",
            "stream of one tool call, 32 argument fragments 5 ms apart",
            stream=True,
            tokens=0,
            token_delay_ms=5,
            tool_call=True,
        ),
        Shape(
            "embeddings",
            f"embeddings of {len(EMBEDDING_INPUTS)} inputs (cache bypassed)",
            stream=False,
            tokens=0,
            api="embeddings",
            model="embed",
        ),
    )
}

FIRST_CONTENT = re.compile(rb'"(?:content|delta|text)": ?"t\d|"arguments": ?"[^"]')


@dataclass(frozen=True)
class Timing:
    ttft_s: float  # first content token; the whole answer for a JSON one
    total_s: float


Call = Callable[[httpx.AsyncClient], Awaitable[Timing]]


def make_call(url: str, body: dict[str, Any], headers: dict[str, str], shape: Shape) -> Call:
    """One request of the shape, checked: every token there, and a hit being a hit."""
    last_token = f"t{shape.tokens}".encode()
    payload = json.dumps(body).encode()
    headers = {**headers, "Content-Type": "application/json"}
    via_gateway = "/openai/" not in url
    # A chat stream ends with [DONE], a Responses stream with its completed event, a Messages
    # stream with message_stop.
    end_marker = b"[DONE]"
    if url.endswith("/v1/responses"):
        end_marker = b"response.completed"
    elif url.endswith("/v1/messages"):
        end_marker = b"message_stop"
    want_cache = "HIT" if shape.cached else None

    def check_cache(response: httpx.Response) -> None:
        if via_gateway and want_cache and response.headers.get("x-cache") != want_cache:
            raise RuntimeError(f"expected X-Cache: {want_cache}, got {response.headers}")

    async def streamed(client: httpx.AsyncClient) -> Timing:
        started = time.perf_counter()
        first = 0.0
        received = bytearray()
        async with client.stream("POST", url, content=payload, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            check_cache(response)
            async for data in response.aiter_raw():
                received += data
                if not first and FIRST_CONTENT.search(received):
                    first = time.perf_counter() - started
        # A tool call's stream ends with its finish reason; a text stream with its last token.
        last = b'"tool_calls"' if shape.tool_call else last_token
        if end_marker not in received or last not in received:
            raise RuntimeError(f"incomplete stream: {bytes(received[-300:])!r}")
        return Timing(first, time.perf_counter() - started)

    async def answered(client: httpx.AsyncClient) -> Timing:
        started = time.perf_counter()
        response = await client.post(url, content=payload, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        check_cache(response)
        if shape.api == "embeddings":
            vectors = response.json()["data"]
            if len(vectors) != len(EMBEDDING_INPUTS) or not vectors[-1]["embedding"]:
                raise RuntimeError(f"incomplete embeddings: {response.text[:300]}")
            return Timing(elapsed, elapsed)
        content = answer_text(shape, response.json())
        if not content.endswith(last_token.decode()):
            raise RuntimeError(f"incomplete answer: {content[-100:]!r}")
        return Timing(elapsed, elapsed)

    return streamed if shape.stream else answered


def answer_text(shape: Shape, answer: dict[str, Any]) -> str:
    """The text of a JSON answer: a Messages API message's text blocks, else a chat
    completion's message."""
    if shape.api == "messages":
        return "".join(b["text"] for b in answer["content"] if b.get("type") == "text")
    content: str = answer["choices"][0]["message"]["content"]
    return content


def gateway_call(stack: BenchStack, shape: Shape) -> Call:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    if shape.api == "embeddings":  # embeddings are cached by default: measure the call itself
        headers["Cache-Control"] = "no-cache, no-store"
    body = shape.gateway_body(shape.model)
    return make_call(f"{stack.base_url}{shape.path}", body, headers, shape)


def direct_call(stack: BenchStack, shape: Shape) -> Call:
    """The call the gateway makes for the shape, straight to the fake, in its own API."""
    model, api = UPSTREAMS[shape.model]
    if api == "messages":
        url = f"{stack.fake.anthropic_base_url}/v1/messages"
        headers = {"x-api-key": FAKE_KEY, "anthropic-version": "2023-06-01"}
        return make_call(url, shape.messages_body(model), headers, shape)
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}
    if api == "embeddings":
        url = f"{stack.fake.openai_base_url}/embeddings"
        return make_call(url, shape.embeddings_body(model), headers, shape)
    url = f"{stack.fake.openai_base_url}/chat/completions"
    return make_call(url, shape.body(model), headers, shape)
