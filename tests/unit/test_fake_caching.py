"""Prompt caching usage: explicit Anthropic breakpoints (5m / 1h writes, reads on a repeated
prefix), automatic prefix caching (OpenAI, DeepSeek), OpenRouter's fields, and the 400s."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.provider import FakeProvider
from tests.unit.fake_support import (
    ANTHROPIC_PATH,
    DEEPSEEK_PATH,
    KEY,
    OPENAI_PATH,
    OPENROUTER_PATH,
    anthropic_body,
    anthropic_events,
    directive,
    post,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def words(n: int) -> str:
    """n words, unique per call so tests never share a cached prefix."""
    return " ".join([uuid.uuid4().hex[:8]] + ["w"] * (n - 1))


def marked(text: str, ttl: str | None = None) -> dict[str, Any]:
    marker: dict[str, Any] = {"type": "ephemeral"} | ({"ttl": ttl} if ttl else {})
    return {"type": "text", "text": text, "cache_control": marker}


def error_message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    message: str = response.json()["error"]["message"]
    return message


def test_anthropic_write_then_read(fake: FakeProvider) -> None:
    system = [marked(words(100), "1h"), marked(words(50))]  # 1h first, then 5m: allowed
    body = anthropic_body("question " + directive(tokens=2)) | {"system": system}
    first = post(fake, ANTHROPIC_PATH, body).json()["usage"]
    assert first["cache_creation_input_tokens"] == 150
    assert first["cache_creation"] == {
        "ephemeral_5m_input_tokens": 50,
        "ephemeral_1h_input_tokens": 100,
    }
    assert first["cache_read_input_tokens"] == 0
    prompt = len(("question " + directive(tokens=2)).split())
    assert first["input_tokens"] == prompt  # only the uncached tail
    again = post(fake, ANTHROPIC_PATH, body | {"stream": True}).content
    start = anthropic_events(again)[0][1]["message"]["usage"]
    assert (start["cache_read_input_tokens"], start["cache_creation_input_tokens"]) == (150, 0)
    assert start["input_tokens"] == prompt
    longer = body | {
        "messages": [
            {"role": "user", "content": [marked("more words here " + directive(tokens=1))]}
        ]
    }
    grown = post(fake, ANTHROPIC_PATH, longer).json()["usage"]
    assert grown["cache_read_input_tokens"] == 150  # the system prefix is read...
    assert grown["cache_creation"]["ephemeral_5m_input_tokens"] == 3 + len(
        directive(tokens=1).split()
    )


def test_anthropic_sdk_usage_and_top_level_marker(fake: FakeProvider) -> None:
    api = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key=KEY, max_retries=0)
    text = words(40)
    kwargs: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        "extra_body": {"cache_control": {"type": "ephemeral"}},  # automatic caching
    }
    first = api.messages.create(**kwargs)
    assert first.usage.cache_creation_input_tokens == 40
    second = api.messages.create(**kwargs)
    assert second.usage.cache_read_input_tokens == 40
    assert second.usage.input_tokens == 0


def test_anthropic_minimum_prefix(fake: FakeProvider) -> None:
    body = anthropic_body([marked(words(30) + " " + directive(cache_min_tokens=1024))])
    for _ in range(2):  # shorter than the minimum: silently not cached, ever
        usage = post(fake, ANTHROPIC_PATH, body).json()["usage"]
        assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0


def test_anthropic_breakpoint_rules(fake: FakeProvider) -> None:
    five = [marked(f"block {i}") for i in range(5)]
    assert error_message(post(fake, ANTHROPIC_PATH, anthropic_body(five))) == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )
    order = anthropic_body([marked("short", "5m"), marked("long", "1h")])
    assert error_message(post(fake, ANTHROPIC_PATH, order)) == (
        "messages.0.content.1.cache_control.ttl: a ttl='1h' cache_control block must not come "
        "after a ttl='5m' cache_control block. Note that blocks are processed in the following "
        "order: `tools`, `system`, `messages`."
    )
    four_and_top = anthropic_body(five[:4]) | {"cache_control": {"type": "ephemeral"}}
    assert "Found 5." in error_message(post(fake, ANTHROPIC_PATH, four_and_top))


def test_foreign_upstream_rejections(fake: FakeProvider) -> None:
    text = "x " + directive(reject=["ttl", "output_config", "betas", "context_management"])
    ttl = anthropic_body([marked(text, "1h")])
    assert error_message(post(fake, ANTHROPIC_PATH, ttl)) == (
        "messages.0.content.0.cache_control.ttl: Extra inputs are not permitted"
    )
    config = anthropic_body(text, output_config={"effort": "high"})
    assert (
        error_message(post(fake, ANTHROPIC_PATH, config))
        == "output_config: Extra inputs are not permitted"
    )
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "context-1m"}
    assert (
        error_message(post(fake, ANTHROPIC_PATH, anthropic_body(text), headers))
        == "invalid beta flag"
    )
    markers = anthropic_body([marked("y " + directive(reject=["cache_control"]))])
    assert error_message(post(fake, ANTHROPIC_PATH, markers)) == (
        "messages.0.content.0.cache_control: Extra inputs are not permitted"
    )


def chat_messages(system: str, question: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def test_openai_automatic_prefix(fake: FakeProvider) -> None:
    system = words(1100)  # above OpenAI's 1024-token minimum
    body = {"model": "gpt-4o-mini", "messages": chat_messages(system, "q1")}
    assert (
        post(fake, OPENAI_PATH, body).json()["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    )
    other = body | {"messages": chat_messages(system, "a different question")}
    usage = post(fake, OPENAI_PATH, other).json()["usage"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 1100  # the shared system prefix
    short = {"model": "gpt-4o-mini", "messages": chat_messages(words(20), "q")}
    for _ in range(2):  # under the minimum: never cached
        assert (
            post(fake, OPENAI_PATH, short).json()["usage"]["prompt_tokens_details"]["cached_tokens"]
            == 0
        )
    question = "q " + directive(cache_min_tokens=0)
    lowered = {"model": "m", "messages": chat_messages(words(20), question)}
    post(fake, OPENAI_PATH, lowered)
    repeat = post(fake, OPENAI_PATH, lowered).json()["usage"]
    assert repeat["prompt_tokens_details"]["cached_tokens"] == 20 + len(question.split())
    fake.clear_cache()
    assert (
        post(fake, OPENAI_PATH, lowered).json()["usage"]["prompt_tokens_details"]["cached_tokens"]
        == 0
    )


def test_deepseek_hit_and_miss(fake: FakeProvider) -> None:
    system = words(30)
    question = "q " + directive(cache_min_tokens=0)
    body = {"model": "deepseek-chat", "messages": chat_messages(system, question)}
    post(fake, DEEPSEEK_PATH, body)
    follow = body | {"messages": chat_messages(system, "another " + directive(cache_min_tokens=0))}
    usage = post(fake, DEEPSEEK_PATH, follow).json()["usage"]
    assert usage["prompt_cache_hit_tokens"] == 30
    assert usage["prompt_cache_miss_tokens"] == usage["prompt_tokens"] - 30
    assert usage["prompt_tokens_details"]["cached_tokens"] == 30


def test_openrouter_anthropic_model_cache_fields(fake: FakeProvider) -> None:
    content = [marked(words(200), "1h"), {"type": "text", "text": "q " + directive(tokens=1)}]
    body = {
        "model": "anthropic/claude-sonnet-4.5",
        "messages": [{"role": "user", "content": content}],
    }
    first = post(fake, OPENROUTER_PATH, body).json()["usage"]
    assert first["prompt_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 200}
    second = post(fake, OPENROUTER_PATH, body).json()["usage"]
    assert second["prompt_tokens_details"] == {"cached_tokens": 200, "cache_write_tokens": 0}
    assert second["cost"] < first["cost"]  # reads 0.1x, 1h writes 2x
