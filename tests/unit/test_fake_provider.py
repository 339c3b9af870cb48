"""The fake LLM provider (tests/fakes) against the real clients: openai SDK, httpx and httpx-sse.

The server runs in a subprocess (`FakeProvider`), exactly as the gateway's own tests will use it.
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # plain `pytest` run without the repo root on sys.path
    sys.path.insert(0, _ROOT)

from tests.fakes.provider import FakeProvider  # noqa: E402

KEY = "sk-fake-test-key"
AUTH = {"authorization": f"Bearer {KEY}"}
ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
OPENAI_PATH = "/openai/v1/chat/completions"
DEEPSEEK_PATH = "/deepseek/chat/completions"
OPENROUTER_PATH = "/openrouter/api/v1/chat/completions"
ANTHROPIC_PATH = "/anthropic/v1/messages"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


# --- helpers -----------------------------------------------------------------------------------
def directive(**scenario: Any) -> str:
    return "FAKE" + json.dumps(scenario)


def expected_text(n: int, prefix: str = "t") -> str:
    return " ".join(f"{prefix}{i}" for i in range(1, n + 1))


def messages(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def sdk(base_url: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=10, **kwargs)


def sdk_stream(client: openai.OpenAI, text: str, model: str = "m") -> list[ChatCompletionChunk]:
    stream = client.chat.completions.create(model=model, messages=messages(text), stream=True)
    return list(stream)


def sdk_text(chunks: Iterable[ChatCompletionChunk], into: list[str] | None = None) -> str:
    seen = [] if into is None else into
    for chunk in chunks:
        if chunk.choices:
            seen.append(chunk.choices[0].delta.content or "")
    return "".join(seen)


def post(
    fake: FakeProvider, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    hdrs = AUTH if headers is None else headers
    return httpx.post(fake.base_url + path, json=body, headers=hdrs, timeout=10)


def read_into(
    buf: bytearray, fake: FakeProvider, path: str, body: dict[str, Any], timeout: float = 10
) -> None:
    """Stream a response into `buf` (what arrived stays there if the transfer fails)."""
    url = fake.base_url + path
    with httpx.stream("POST", url, json=body, headers=AUTH, timeout=timeout) as response:
        for piece in response.iter_bytes():
            buf += piece


def sse_events(
    fake: FakeProvider, body: dict[str, Any], stop_at: str | None = None
) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    with (
        httpx.Client(base_url=fake.base_url, timeout=10) as client,
        connect_sse(client, "POST", ANTHROPIC_PATH, json=body, headers=ANTHROPIC_HEADERS) as src,
    ):
        for event in src.iter_sse():
            events.append(event)
            if event.event == stop_at:
                break
    return events


def frames(raw: bytes) -> list[bytes]:
    return [f for f in raw.split(b"\n\n") if f]


def data_chunks(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(f[len(b"data: ") :]) for f in frames(raw) if f.startswith(b"data: {")]


def parses(payload: bytes) -> bool:
    try:
        json.loads(payload)
    except ValueError:
        return False
    return True


def anthropic_body(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": text}],
    } | extra


def chat_body(fmt: str, text: str, stream: bool = False) -> dict[str, Any]:
    if fmt == "anthropic":
        return anthropic_body(text, stream=stream)
    return {"model": "some-model", "stream": stream, "messages": messages(text)}


# --- OpenAI ------------------------------------------------------------------------------------
def test_openai_sdk_stream_without_usage(fake: FakeProvider) -> None:
    chunks = sdk_stream(sdk(fake.openai_base_url), "hi " + directive(tokens=12))
    assert sdk_text(chunks) == expected_text(12)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].id.startswith("chatcmpl-")
    assert len({c.created for c in chunks}) == 1


def test_openai_sdk_stream_with_include_usage(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages("one two " + directive(tokens=5, reasoning_tokens=2)),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert sdk_text(chunks) == expected_text(5)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    # words: "be brief" + 'one two FAKE{"tokens": 5, "reasoning_tokens": 2}'
    assert last.usage.prompt_tokens == 2 + 6
    assert last.usage.completion_tokens == 7
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == 2
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_sdk_non_stream(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    text = "hi " + directive(tokens=4, finish_reason="length")
    done = client.chat.completions.create(model="gpt-4o-mini", messages=messages(text))
    assert done.choices[0].message.content == expected_text(4)
    assert done.choices[0].finish_reason == "length"
    assert done.usage is not None
    assert done.usage.completion_tokens == 4
    assert done.id.startswith("chatcmpl-")


@pytest.mark.parametrize("include_usage", [True, False])
def test_openai_raw_bytes(fake: FakeProvider, include_usage: bool) -> None:
    body = chat_body("openai", directive(tokens=3), stream=True)
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = post(fake, OPENAI_PATH, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    raw = response.content
    parts = frames(raw)
    assert raw.endswith(b"data: [DONE]\n\n")
    assert parts[-1] == b"data: [DONE]"
    for part in parts[:-1]:  # compact JSON, keys in the order the real service sends them
        assert part.startswith(b"data: ")
        payload = part[len(b"data: ") :]
        assert orjson.dumps(json.loads(payload)) == payload
    chunks = data_chunks(raw)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:4]] == ["t1 ", "t2 ", "t3"]
    finish = chunks[4]["choices"][0]
    assert finish["delta"] == {}
    assert finish["finish_reason"] == "stop"
    if include_usage:
        assert len(chunks) == 6
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"]["completion_tokens"] == 3
        assert all("usage" in c and c["usage"] is None for c in chunks[:-1])
    else:
        assert len(chunks) == 5
        assert all("usage" not in c for c in chunks)


def test_openai_vllm_styles(fake: FakeProvider) -> None:
    flat = post(
        fake, OPENAI_PATH, chat_body("openai", directive(status=400, error_style="vllm_flat"))
    )
    assert flat.status_code == 400
    assert flat.json()["object"] == "error"
    assert flat.json()["code"] == 400
    # vLLM's in-stream error has no `error` key: openai-python does NOT raise on it.
    text = directive(tokens=4, fault="error_frame_after", fault_after=2, error_style="vllm")
    chunks = sdk_stream(sdk(fake.openai_base_url), text)
    assert chunks[-1].object == "error"  # type: ignore[comparison-overlap]  # not validated


# --- DeepSeek ----------------------------------------------------------------------------------
def test_deepseek_sdk_usage_on_finish_chunk(fake: FakeProvider) -> None:
    text = "hello " + directive(tokens=6, cached_tokens=2, tag="ds-usage")
    chunks = sdk_stream(sdk(fake.deepseek_base_url), text, model="deepseek-chat")
    assert sdk_text(chunks) == expected_text(6)
    assert all(len(c.choices) == 1 for c in chunks)  # never an empty-choices chunk
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.usage is not None
    assert last.usage.completion_tokens == 6
    extra = last.usage.model_extra or {}
    assert extra["prompt_cache_hit_tokens"] == 2
    assert extra["prompt_cache_miss_tokens"] == last.usage.prompt_tokens - 2
    assert all(c.usage is None for c in chunks[:-1])
    uuid.UUID(last.id)  # a bare UUID
    record = fake.wait_for("ds-usage")
    assert record["format"] == "deepseek"
    assert record["outcome"] == "completed"


def test_deepseek_reasoner_raw(fake: FakeProvider) -> None:
    body = {
        "model": "deepseek-reasoner",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": messages(directive(tokens=3, reasoning_tokens=2)),
    }
    chunks = data_chunks(post(fake, DEEPSEEK_PATH, body).content)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": None, "reasoning_content": ""}
    assert deltas[1:3] == [
        {"content": None, "reasoning_content": "r1 "},
        {"content": None, "reasoning_content": "r2"},
    ]
    assert [d["content"] for d in deltas[3:6]] == ["t1 ", "t2 ", "t3"]
    assert all(d["reasoning_content"] is None for d in deltas[3:])
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] == 5
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 2
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["usage"] is None for c in chunks[:-1])  # include_usage: null on earlier chunks


def test_deepseek_thinking_and_keepalive(fake: FakeProvider) -> None:
    text = directive(tokens=2, fault="keepalive_comments", keepalive_count=3)
    body = chat_body("deepseek", text, stream=True) | {"thinking": {"type": "enabled"}}
    raw = post(fake, DEEPSEEK_PATH, body).content
    assert raw.startswith(b": keep-alive\n\n" * 3 + b"data: {")
    deltas = [c["choices"][0]["delta"] for c in data_chunks(raw)]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == expected_text(4, "r")
    chunks = sdk_stream(sdk(fake.deepseek_base_url), text)  # the SDK skips the comments
    assert sdk_text(chunks) == expected_text(2)


def test_deepseek_non_stream_leading_blank_lines(fake: FakeProvider) -> None:
    text = directive(tokens=3, fault="keepalive_comments", keepalive_count=4)
    raw = post(fake, "/deepseek/v1/chat/completions", chat_body("deepseek", text))
    assert raw.status_code == 200
    assert raw.content.startswith(b"\n\n\n\n{")
    client = sdk(fake.deepseek_base_url)
    done = client.chat.completions.create(model="deepseek-chat", messages=messages(text))
    assert done.choices[0].message.content == expected_text(3)


# --- OpenRouter --------------------------------------------------------------------------------
@pytest.mark.parametrize("usage_form", ["empty_choices", "empty_delta"])
def test_openrouter_stream(fake: FakeProvider, usage_form: str) -> None:
    text = directive(tokens=4, keepalive_count=2, usage_form=usage_form)
    raw = post(fake, OPENROUTER_PATH, chat_body("openrouter", text, stream=True)).content
    assert raw.startswith(b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: {")
    assert raw.endswith(b"data: [DONE]\n\n")
    chunks = data_chunks(raw)
    assert re.fullmatch(r"gen-\d+-[A-Za-z0-9]{20}", chunks[0]["id"])
    finish, usage = chunks[-2], chunks[-1]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in finish
    assert usage["usage"]["completion_tokens"] == 4
    assert "cost" in usage["usage"]
    if usage_form == "empty_choices":
        assert usage["choices"] == []
    else:
        assert usage["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert usage["choices"][0]["finish_reason"] is None
    assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in chunks[:-1])

    sdk_chunks = sdk_stream(sdk(fake.openrouter_base_url), text, "anthropic/claude-3.5-sonnet")
    assert sdk_text(sdk_chunks) == expected_text(4)
    assert sdk_chunks[-1].usage is not None
    assert sdk_chunks[-1].usage.completion_tokens == 4


def test_openrouter_reasoning_and_headers(fake: FakeProvider) -> None:
    attribution = {"HTTP-Referer": "https://example.test/app", "X-OpenRouter-Title": "Gateway"}
    client = sdk(fake.openrouter_base_url, default_headers=attribution)
    text = directive(tokens=2, reasoning_tokens=3, tag="or-headers")
    chunks = sdk_stream(client, text, model="deepseek/deepseek-r1")
    extras = [c.choices[0].delta.model_extra or {} for c in chunks if c.choices]
    assert "".join(e.get("reasoning") or "" for e in extras) == expected_text(3, "r")
    record = fake.wait_for("or-headers")
    assert record["headers"]["http-referer"] == "https://example.test/app"
    assert record["headers"]["x-openrouter-title"] == "Gateway"
    assert record["attribution"] == {"referer": "https://example.test/app", "title": "Gateway"}
    assert record["auth"] == "present"
    assert "authorization" not in record["headers"]
    assert record["stream"] is True
    assert record["model"] == "deepseek/deepseek-r1"


def test_openrouter_error_chunk(fake: FakeProvider) -> None:
    text = directive(tokens=6, fault="error_frame_after", fault_after=2, error_code=429, tag="e")
    client = sdk(fake.openrouter_base_url)
    seen: list[str] = []
    with pytest.raises(openai.APIError) as info:
        sdk_text(
            client.chat.completions.create(model="m", messages=messages(text), stream=True), seen
        )
    assert "".join(seen) == "t1 t2 "
    assert "Provider disconnected" in info.value.message
    assert fake.wait_for("e")["outcome"] == "fault"

    raw = post(fake, OPENROUTER_PATH, chat_body("openrouter", text, stream=True))
    assert raw.status_code == 200
    assert not raw.content.endswith(b"[DONE]\n\n")
    error = data_chunks(raw.content)[-1]
    assert error["error"]["code"] == 429
    assert error["choices"][0]["finish_reason"] == "error"

    text = directive(fault="error_frame_after", fault_after=0, done_after_error=True)
    raw = post(fake, OPENROUTER_PATH, chat_body("openrouter", text, stream=True))
    assert raw.content.endswith(b"data: [DONE]\n\n")
    assert data_chunks(raw.content)[0]["error"]["code"] == "server_error"


# --- Anthropic ---------------------------------------------------------------------------------
def test_anthropic_stream_events(fake: FakeProvider) -> None:
    events = sse_events(fake, anthropic_body("hi there " + directive(tokens=3)))
    names = [e.event for e in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [e.json() for e in events]
    assert [d["type"] for d in data] == names
    assert data[0]["message"]["usage"]["input_tokens"] == 4
    assert data[0]["message"]["id"].startswith("msg_01")
    text = "".join(d["delta"]["text"] for d in data if d["type"] == "content_block_delta")
    assert text == expected_text(3)
    assert data[-2]["usage"] == {"output_tokens": 3}
    assert data[-2]["delta"]["stop_reason"] == "end_turn"
    assert not any(e.data.startswith("[DONE]") for e in events)


def test_anthropic_thinking_and_non_stream(fake: FakeProvider) -> None:
    body = anthropic_body(directive(tokens=2), thinking={"type": "enabled", "budget_tokens": 32})
    raw = post(fake, ANTHROPIC_PATH, body, ANTHROPIC_HEADERS).content
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in raw
    deltas = [
        json.loads(f.split(b"\ndata: ", 1)[1])["delta"]["type"]
        for f in frames(raw)
        if f.startswith(b"event: content_block_delta")
    ]
    assert deltas == ["thinking_delta"] * 4 + ["signature_delta"] + ["text_delta"] * 2
    assert raw.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')

    plain = post(fake, ANTHROPIC_PATH, body | {"stream": False}, ANTHROPIC_HEADERS).json()
    assert [b["type"] for b in plain["content"]] == ["thinking", "text"]
    assert plain["content"][1]["text"] == expected_text(2)
    assert plain["usage"]["output_tokens"] == 6
    assert "total_tokens" not in plain["usage"]


def test_anthropic_request_errors(fake: FakeProvider) -> None:
    no_max = post(fake, ANTHROPIC_PATH, anthropic_body("hi", max_tokens=None), ANTHROPIC_HEADERS)
    assert no_max.status_code == 400
    assert no_max.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    assert no_max.json()["request_id"] == no_max.headers["request-id"]
    no_version = post(fake, ANTHROPIC_PATH, anthropic_body("hi"), {"x-api-key": KEY})
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]
    no_key = post(fake, ANTHROPIC_PATH, anthropic_body("hi"), {"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    roles = [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]
    bad_role = post(fake, ANTHROPIC_PATH, anthropic_body("hi", messages=roles), ANTHROPIC_HEADERS)
    assert bad_role.status_code == 400
    assert 'Unexpected role "system"' in bad_role.json()["error"]["message"]
    bearer_headers = AUTH | {"anthropic-version": "2023-06-01"}
    bearer = post(fake, ANTHROPIC_PATH, anthropic_body(directive(tokens=1)), bearer_headers)
    assert bearer.status_code == 200


def test_anthropic_error_event(fake: FakeProvider) -> None:
    text = directive(tokens=5, fault="error_frame_after", fault_after=2)
    raw = post(fake, ANTHROPIC_PATH, anthropic_body(text), ANTHROPIC_HEADERS)
    assert raw.status_code == 200
    assert raw.content.endswith(
        b"event: error\n"
        b'data: {"type": "error", "error": {"type": "overloaded_error", '
        b'"message": "Overloaded"}}\n\n'
    )
    assert b"message_stop" not in raw.content
    assert raw.content.count(b"text_delta") == 2


# --- errors, status, auth ----------------------------------------------------------------------
FORMAT_CASES = [
    ("openai", OPENAI_PATH, AUTH),
    ("deepseek", DEEPSEEK_PATH, AUTH),
    ("openrouter", OPENROUTER_PATH, AUTH),
    ("anthropic", ANTHROPIC_PATH, ANTHROPIC_HEADERS),
]


@pytest.mark.parametrize(("fmt", "path", "headers"), FORMAT_CASES)
def test_status_and_retry_headers(
    fake: FakeProvider, fmt: str, path: str, headers: dict[str, str]
) -> None:
    tag = f"status-{fmt}"
    text = directive(status=429, retry_after=2, retry_after_ms=1500, should_retry=False, tag=tag)
    response = post(fake, path, chat_body(fmt, text, stream=True), headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"
    assert response.headers["x-should-retry"] == "false"
    body = response.json()
    if fmt == "anthropic":
        assert body["type"] == "error"
        assert body["error"]["type"] == "rate_limit_error"
    elif fmt == "openrouter":
        assert body["error"]["code"] == 429
        assert response.headers["x-ratelimit-remaining"] == "0"
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    record = fake.wait_for(tag)
    assert (record["status"], record["outcome"], record["format"]) == (429, "error_status", fmt)


@pytest.mark.parametrize(("fmt", "path", "headers"), FORMAT_CASES)
def test_context_length(fake: FakeProvider, fmt: str, path: str, headers: dict[str, str]) -> None:
    response = post(fake, path, chat_body(fmt, directive(context_length=True)), headers)
    assert response.status_code == 400
    body = response.json()
    message = body["error"]["message"]
    if fmt == "openai":
        assert body["error"]["code"] == "context_length_exceeded"
    elif fmt == "anthropic":
        assert message.startswith("prompt is too long")
    elif fmt == "openrouter":
        assert body["error"]["metadata"]["error_type"] == "context_length_exceeded"
    if fmt != "anthropic":
        assert "maximum context length" in message


def test_openai_sdk_error_mapping(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    quota = messages(directive(status=429, error_code="insufficient_quota"))
    with pytest.raises(openai.RateLimitError) as rate:
        client.chat.completions.create(model="m", messages=quota)
    assert rate.value.code == "insufficient_quota"
    with pytest.raises(openai.InternalServerError):
        sdk_stream(client, directive(status=503))
    deepseek = sdk(fake.deepseek_base_url)
    with pytest.raises(openai.APIStatusError) as balance:
        deepseek.chat.completions.create(model="m", messages=messages(directive(status=402)))
    assert balance.value.status_code == 402
    assert balance.value.type == "unknown_error"


def test_auth_required(fake: FakeProvider) -> None:
    body = chat_body("openai", "hi")
    missing = post(fake, OPENAI_PATH, body, {})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] is None
    wrong = post(fake, OPENAI_PATH, body, {"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    router = post(fake, OPENROUTER_PATH, body, {})
    assert router.json() == {"error": {"message": "No auth credentials found", "code": 401}}
    bad_key = openai.OpenAI(base_url=fake.deepseek_base_url, api_key="bad", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.models.list()


@pytest.mark.parametrize(
    ("path", "headers", "first_id"),
    [
        ("/openai/v1/models", AUTH, "gpt-4o-mini"),
        ("/deepseek/models", AUTH, "deepseek-chat"),
        ("/openrouter/api/v1/models", {}, "anthropic/claude-3.5-sonnet"),
        ("/anthropic/v1/models", ANTHROPIC_HEADERS, "claude-sonnet-4-20250514"),
    ],
)
def test_models(fake: FakeProvider, path: str, headers: dict[str, str], first_id: str) -> None:
    response = httpx.get(fake.base_url + path, headers=headers)
    assert response.status_code == 200
    model = response.json()["data"][0]
    assert model["id"] == first_id
    assert ("created" in model) == path.startswith(("/openai", "/openrouter"))


def test_scenario_validation(fake: FakeProvider) -> None:
    bad = post(fake, OPENAI_PATH, chat_body("openai", directive(tokns=3)))
    assert bad.status_code == 400
    assert "unknown FAKE key 'tokns'" in bad.json()["error"]["message"]
    bad_json = post(fake, OPENAI_PATH, chat_body("openai", 'FAKE{"tokens": '))
    assert bad_json.status_code == 400


# --- faults and client behaviour ---------------------------------------------------------------
def test_drop_after_is_an_incomplete_stream(fake: FakeProvider) -> None:
    text = directive(tokens=10, fault="drop_after", fault_after=3, tag="drop")
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        read_into(received, fake, OPENAI_PATH, chat_body("openai", text, stream=True))
    assert received.count(b'"content":"t') == 3
    assert b"[DONE]" not in received
    record = fake.wait_for("drop")
    assert (record["outcome"], record["tokens_sent"]) == ("fault", 3)

    with pytest.raises(openai.APIConnectionError):
        sdk_stream(sdk(fake.openai_base_url), text)
    assert "Traceback" not in fake.server_log()


def test_client_close_is_recorded(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    text = directive(tokens=200, token_delay_ms=20, tag="closer")
    stream = client.chat.completions.create(model="m", messages=messages(text), stream=True)
    for i, _chunk in enumerate(stream):
        if i == 3:
            break
    stream.close()
    record = fake.wait_for("closer", timeout=3)
    assert record["outcome"] == "client_closed"
    assert 1 <= record["tokens_sent"] < 20

    body = anthropic_body(directive(tokens=200, token_delay_ms=20, tag="closer-a"))
    sse_events(fake, body, stop_at="content_block_delta")
    record = fake.wait_for("closer-a", timeout=3)
    assert record["outcome"] == "client_closed"
    assert record["tokens_sent"] < 20


def test_stall_after_then_client_timeout(fake: FakeProvider) -> None:
    text = directive(tokens=6, fault="stall_after", fault_after=2, stall_s=30, tag="stall")
    received = bytearray()
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        read_into(received, fake, DEEPSEEK_PATH, chat_body("deepseek", text, True), timeout=0.4)
    assert time.monotonic() - started < 5
    assert received.count(b'"content":"t') == 2
    record = fake.wait_for("stall", timeout=3)
    assert (record["outcome"], record["tokens_sent"]) == ("client_closed", 2)


def test_malformed_and_no_done(fake: FakeProvider) -> None:
    text = directive(tokens=4, fault="malformed_after", fault_after=1, tag="malformed")
    raw = post(fake, OPENAI_PATH, chat_body("openai", text, stream=True)).content
    payloads = [f[len(b"data: ") :] for f in frames(raw) if f.startswith(b"data: {")]
    assert sum(not parses(p) for p in payloads) == 1
    assert raw.endswith(b"data: [DONE]\n\n")
    assert fake.wait_for("malformed")["outcome"] == "fault"
    with pytest.raises(json.JSONDecodeError):
        sdk_stream(sdk(fake.openai_base_url), text)

    text = directive(tokens=3, fault="no_done")
    raw = post(fake, OPENAI_PATH, chat_body("openai", text, stream=True)).content
    assert b"[DONE]" not in raw
    assert data_chunks(raw)[-1]["choices"][0]["finish_reason"] == "stop"
    raw = post(fake, ANTHROPIC_PATH, anthropic_body(text), ANTHROPIC_HEADERS).content
    assert b"message_delta" in raw
    assert b"message_stop" not in raw


def test_delays_apply_to_non_stream(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    text = directive(tokens=3, first_token_delay_ms=150, token_delay_ms=50)
    started = time.monotonic()
    done = client.chat.completions.create(model="m", messages=messages(text))
    assert time.monotonic() - started >= 0.24
    assert done.choices[0].message.content == expected_text(3)


def test_requests_endpoint_tag_filter_and_clear(fake: FakeProvider) -> None:
    post(fake, OPENAI_PATH, chat_body("openai", directive(tokens=1, tag="rec-a")))
    post(fake, OPENAI_PATH, chat_body("openai", directive(tokens=1, tag="rec-b")))
    record = fake.wait_for("rec-a")
    assert [r["tag"] for r in fake.requests("rec-a")] == ["rec-a"]
    assert record["path"] == OPENAI_PATH
    assert record["body"]["model"] == "some-model"
    assert record["stream"] is False
    assert record["started_at"] <= record["ended_at"]
    fake.clear()
    assert fake.requests() == []


def test_server_flags_and_defaults() -> None:
    with FakeProvider(tokens=3) as local:  # no --require-key: any (or no) key is accepted
        body = chat_body("openai", "no directive here")
        first = post(local, OPENAI_PATH, body, {}).json()["choices"][0]
        assert first["message"]["content"] == "t1 t2 t3"
        local.set_defaults({"tokens": 2, "finish_reason": "length"})
        second = post(local, OPENAI_PATH, body, {}).json()["choices"][0]
        assert (second["message"]["content"], second["finish_reason"]) == ("t1 t2", "length")
        local.set_defaults(None)
        records = local.requests()
        assert len(records) == 2
        assert records[0]["auth"] == "absent"
