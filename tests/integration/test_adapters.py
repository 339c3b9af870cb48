"""The DeepSeek, OpenRouter and Anthropic adapters end to end: gateway → Celery worker → the fake
provider speaking each wire format → Redis → SSE / JSON. The models are in tests/stack.py
(``ADAPTER_MODELS``); each fault test has its own upstream model so no circuit opens on another.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from pydantic import SecretStr

from shared.config import ProviderConfig
from tests.conftest import Stack
from tests.fakes.provider import FakeProvider
from tests.helpers import COMPLETE_URL, STREAM_URL, content_of, data, directive, new_tag
from tests.stack import FAKE_KEY
from workers.providers.registry import build_provider


def words(*texts: str) -> int:
    """prompt_tokens as the fake counts them: whitespace-separated words of every message."""
    return sum(len(text.split()) for text in texts)


def text(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(1, count + 1))


def reasoning_of(events: list[ServerSentEvent]) -> str:
    return "".join(data(e).get("reasoning", "") for e in events if e.event == "delta")


def body(model: str, prompt: str, system: str | None = None, **options: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return {"model": model, "messages": messages, **options}


def stream(client: httpx.Client, request: dict[str, Any]) -> list[ServerSentEvent]:
    with connect_sse(client, "POST", STREAM_URL, json=request) as source:
        assert source.response.status_code == 200, source.response.read()
        return list(source.iter_sse())


def done_of(events: list[ServerSentEvent]) -> dict[str, Any]:
    assert events[-1].event == "done", events[-1].data
    return data(events[-1])


def error_code(events: list[ServerSentEvent]) -> str:
    assert events[-1].event == "error", events[-1].data
    code: str = data(events[-1])["code"]
    return code


def usage(
    prompt: int, completion: int, cached: int = 0, reasoning: int = 0, written: int = 0
) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_tokens": cached,
        "cache_write_5m_tokens": written,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": reasoning,
        "estimated": False,
    }


def stream_and_complete(
    client: httpx.Client, request: dict[str, Any]
) -> tuple[list[ServerSentEvent], dict[str, Any]]:
    """The same request streamed and as JSON; both must tell the same story."""
    events = stream(client, request)
    response = client.post(COMPLETE_URL, json=request)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["content"] == content_of(events)
    assert (answer["reasoning"] or "") == reasoning_of(events)
    assert answer["finish_reason"] == done_of(events)["finish_reason"]
    assert answer["usage"] == done_of(events)["usage"]
    return events, answer


# --- DeepSeek ------------------------------------------------------------------------------------


def test_deepseek_chat(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = f"one two three {directive(tokens=6, cached_tokens=2, tag=tag)}"
    events, answer = stream_and_complete(client, body("ds-chat", prompt))
    assert data(events[0])["provider"] == "deepseek"
    assert answer["content"] == text("t", 6) and answer["reasoning"] is None
    assert answer["finish_reason"] == "stop"
    # cached_tokens comes from prompt_cache_hit_tokens; usage rode on the finish chunk.
    assert answer["usage"] == usage(words(prompt), 6, cached=2)

    # The stream asks for usage in the stream; the JSON request, for its whole answer.
    streamed, whole = stack.fake.requests(tag)
    for sent in (streamed, whole):
        assert (sent["path"], sent["model"], sent["auth"]) == (
            "/deepseek/chat/completions",
            "deepseek-chat",
            "present",
        )
    assert streamed["body"]["stream_options"] == {"include_usage": True}
    assert whole["body"]["stream"] is False and "stream_options" not in whole["body"]


def test_deepseek_reasoner_first_chunk_content_null(client: httpx.Client) -> None:
    """The reasoner's first chunk is ``content: null, reasoning_content: ""`` and every later
    delta nulls the other field: no "None" may reach the text."""
    prompt = f"think {directive(tokens=4, reasoning_tokens=3)}"
    events, answer = stream_and_complete(client, body("ds-reasoner", prompt))
    assert (answer["content"], answer["reasoning"]) == (text("t", 4), text("r", 3))
    assert "None" not in "".join(e.data for e in events)
    assert answer["usage"] == usage(words(prompt), 7, reasoning=3)


def test_deepseek_usage_on_finish_without_include_usage(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = f"count {directive(tokens=3, cached_tokens=1, tag=tag)}"
    _, answer = stream_and_complete(client, body("ds-plain", prompt))
    assert "stream_options" not in stack.fake.wait_for(tag)["body"]
    assert answer["usage"] == usage(words(prompt), 3, cached=1)


@pytest.mark.parametrize("newlines", [1, 2])
def test_deepseek_keepalive_comments_are_ignored(client: httpx.Client, newlines: int) -> None:
    prompt = directive(
        tokens=5,
        fault="keepalive_comments",
        keepalive_count=4,
        keepalive_interval_ms=20,
        keepalive_newlines=newlines,
    )
    events = stream(client, body("ds-chat", prompt))
    assert content_of(events) == text("t", 5)
    assert done_of(events)["usage"]["completion_tokens"] == 5


def test_deepseek_thinking_comes_from_the_route_step(client: httpx.Client, stack: Stack) -> None:
    on, off = new_tag(), new_tag()
    thinking = stream(client, body("ds-thinking", f"x {directive(tokens=2, tag=on)}"))
    plain = stream(client, body("ds-flash", f"x {directive(tokens=2, tag=off)}"))
    assert stack.fake.wait_for(on)["body"]["thinking"] == {"type": "enabled"}
    assert stack.fake.wait_for(off)["body"]["thinking"] == {"type": "disabled"}
    assert stack.fake.wait_for(on)["model"] == "deepseek-v4-flash"
    assert reasoning_of(thinking) == text("r", 4) and reasoning_of(plain) == ""
    assert content_of(thinking) == content_of(plain) == text("t", 2)


def test_deepseek_insufficient_system_resource(client: httpx.Client) -> None:
    # Before any text: another provider could serve it.
    early = stream(
        client,
        body("ds-fault-early", directive(tokens=0, finish_reason="insufficient_system_resource")),
    )
    assert error_code(early) == "provider_unavailable"
    assert [e.event for e in early if e.event == "delta"] == []
    # After text: the answer was cut short, and must not end like a finished one.
    late = stream(
        client,
        body("ds-fault-late", directive(tokens=3, finish_reason="insufficient_system_resource")),
    )
    assert content_of(late) == text("t", 3)
    assert error_code(late) == "stream_interrupted"
    assert data(late[-1])["delivered"]["content_chars"] == len(text("t", 3))


# --- OpenRouter ----------------------------------------------------------------------------------


def test_openrouter_completion_with_reasoning(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = f"hi there {directive(tokens=5, reasoning_tokens=2, cached_tokens=1, tag=tag)}"
    events, answer = stream_and_complete(client, body("or-model", prompt))
    assert data(events[0])["provider"] == "openrouter"
    assert (answer["content"], answer["reasoning"]) == (text("t", 5), text("r", 2))
    assert answer["finish_reason"] == "stop"
    assert answer["usage"] == usage(words(prompt), 7, cached=1, reasoning=2)

    sent = stack.fake.wait_for(tag)
    assert sent["path"] == "/openrouter/api/v1/chat/completions"
    assert sent["model"] == "anthropic/claude-3.5-sonnet"
    assert sent["attribution"] == {"referer": "https://gateway.test", "title": "llm-gateway tests"}
    assert sent["auth"] == "present"


def test_openrouter_processing_comments_are_ignored(client: httpx.Client) -> None:
    prompt = directive(tokens=4, keepalive_count=5, keepalive_interval_ms=20)
    events = stream(client, body("or-model", prompt))
    assert content_of(events) == text("t", 4)
    assert done_of(events)["usage"]["completion_tokens"] == 4


@pytest.mark.parametrize("form", ["empty_choices", "empty_delta"])
def test_openrouter_usage_after_the_finish_chunk(client: httpx.Client, form: str) -> None:
    prompt = f"a b {directive(tokens=3, usage_form=form, token_delay_ms=5)}"
    done = done_of(stream(client, body("or-model", prompt)))
    assert done["finish_reason"] == "stop"
    assert done["usage"] == usage(words(prompt), 3)


@pytest.mark.parametrize(
    ("model", "scenario"),
    [
        ("or-fault-int", {"error_code": 429, "error_message": "Rate limit exceeded"}),
        ("or-fault-str", {"done_after_error": True}),  # code "server_error", then [DONE]
    ],
)
def test_openrouter_error_chunk_in_a_200_stream(
    client: httpx.Client, model: str, scenario: dict[str, Any]
) -> None:
    prompt = directive(tokens=4, fault="error_frame_after", fault_after=0, **scenario)
    events = stream(client, body(model, prompt))
    assert error_code(events) == "provider_unavailable"
    assert data(events[-1])["retryable"] is True
    assert content_of(events) == ""


def test_openrouter_routing_fields_pass_through(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    preferences = {"order": ["Anthropic", "OpenAI"], "allow_fallbacks": False}
    request = body(
        "or-routed",
        f"route me {directive(tokens=2, tag=tag)}",
        extra_body={"provider": preferences, "reasoning": {"effort": "low"}},
    )
    events = stream(client, request)
    sent = stack.fake.wait_for(tag)["body"]
    # `models` from the route step, `provider` and `reasoning` from the request, all unchanged.
    assert sent["models"] == ["openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet"]
    assert sent["provider"] == preferences
    assert sent["reasoning"] == {"effort": "low"}
    assert sent["model"] == "openai/gpt-4o-mini"
    assert reasoning_of(events) == text("r", 4)  # the fake reasons when `reasoning` is asked
    assert content_of(events) == text("t", 2)


# --- Anthropic -----------------------------------------------------------------------------------


def test_anthropic_completion_lifts_system_and_defaults_max_tokens(
    client: httpx.Client, stack: Stack
) -> None:
    """Also the terminator: the stream ends with ``message_stop`` and no ``[DONE]``."""
    tag = new_tag()
    system, prompt = "be very brief", f"hello {directive(tokens=5, cached_tokens=2, tag=tag)}"
    events, answer = stream_and_complete(client, body("claude", prompt, system))
    assert data(events[0])["provider"] == "anthropic"
    assert answer["content"] == text("t", 5) and answer["finish_reason"] == "stop"
    # input + cache read = every prompt word; output is message_delta's running total alone
    # (message_start said 1: summing would give one more).
    assert answer["usage"] == usage(words(system, prompt), 5, cached=2)

    sent = stack.fake.wait_for(tag)
    assert sent["path"] == "/anthropic/v1/messages" and sent["status"] == 200
    assert sent["body"]["system"] == system
    assert sent["body"]["messages"] == [{"role": "user", "content": prompt}]
    assert sent["body"]["max_tokens"] == 1000  # the provider's default_max_tokens option
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert "x-api-key" not in sent["headers"] and sent["auth"] == "present"
    # The stream streams; the JSON request asks for the whole message.
    assert [r["body"]["stream"] for r in stack.fake.requests(tag)] == [True, False]


def test_a_long_anthropic_answer_is_streamed_even_for_a_json_request(
    client: httpx.Client, stack: Stack
) -> None:
    """Anthropic's SDKs refuse non-streamed calls that may run long: past 8,192 tokens the
    worker streams the answer it hands over whole."""
    tag = new_tag()
    for max_tokens in (8192, 8193):
        request = body("claude", f"x {directive(tokens=3, tag=tag)}", max_tokens=max_tokens)
        response = client.post(COMPLETE_URL, json=request)
        assert response.status_code == 200, response.text
        assert response.json()["content"] == text("t", 3)
    assert [r["body"]["stream"] for r in stack.fake.requests(tag)] == [False, True]


def test_anthropic_sampling_options_are_mapped(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    request = body(
        "claude",
        directive(tokens=3, finish_reason="length", tag=tag),
        max_tokens=3,
        temperature=0.3,
        stop=["END", "STOP"],
        seed=7,
    )
    done = done_of(stream(client, request))
    assert done["finish_reason"] == "length"  # max_tokens
    sent = stack.fake.wait_for(tag)["body"]
    assert (sent["max_tokens"], sent["temperature"]) == (3, 0.3)
    assert sent["stop_sequences"] == ["END", "STOP"]
    assert "seed" not in sent and "stop" not in sent


def test_anthropic_thinking_streams_as_reasoning(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = f"why {directive(tokens=3, tag=tag)}"
    events, answer = stream_and_complete(client, body("claude-thinking", prompt))
    assert stack.fake.wait_for(tag)["body"]["thinking"] == {
        "type": "enabled",
        "budget_tokens": 1024,
    }
    assert (answer["content"], answer["reasoning"]) == (text("t", 3), text("r", 4))
    first = next(e for e in events if e.event == "delta")
    assert "reasoning" in data(first)  # thinking comes first; signature_delta is not text
    assert answer["usage"] == usage(words(prompt), 7)


def test_anthropic_overloaded_error_event(client: httpx.Client) -> None:
    prompt = directive(tokens=4, fault="error_frame_after", fault_after=0)
    events = stream(client, body("claude-overloaded", prompt))
    assert error_code(events) == "provider_unavailable"
    assert "Overloaded" in data(events[-1])["message"]


def test_anthropic_invalid_request_error_event_is_rejected(client: httpx.Client) -> None:
    prompt = directive(
        tokens=4, fault="error_frame_after", fault_after=0, error_code="invalid_request_error"
    )
    events = stream(client, body("claude-invalid", prompt))
    assert error_code(events) == "provider_rejected"
    assert data(events[-1])["retryable"] is False


def test_anthropic_529_is_unavailable(client: httpx.Client) -> None:
    events = stream(client, body("claude-529", directive(status=529)))
    assert error_code(events) == "provider_unavailable"
    response = client.post(COMPLETE_URL, json=body("claude-529", directive(status=529)))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"


def test_anthropic_missing_message_stop_is_an_interrupted_stream(client: httpx.Client) -> None:
    events = stream(client, body("claude-no-stop", directive(tokens=3, fault="no_done")))
    assert content_of(events) == text("t", 3)
    assert error_code(events) == "stream_interrupted"


# --- the adapters' own /models, straight against the fake -----------------------------------------


@pytest.mark.parametrize(
    ("kind", "prefix", "expected"),
    [
        ("deepseek", "deepseek", ["deepseek-chat", "deepseek-reasoner"]),
        ("openrouter", "openrouter/api/v1", ["anthropic/claude-3.5-sonnet", "openai/gpt-4o-mini"]),
        ("anthropic", "anthropic", ["claude-sonnet-4-20250514", "claude-3-5-sonnet-20241022"]),
    ],
)
async def test_list_models(
    fake_provider: FakeProvider, kind: str, prefix: str, expected: list[str]
) -> None:
    config = ProviderConfig(
        kind=kind, base_url=f"{fake_provider.base_url}/{prefix}", api_key=SecretStr(FAKE_KEY)
    )
    provider = build_provider(kind, config)
    try:
        assert await provider.list_models() == expected
    finally:
        await provider.aclose()
