"""Anthropic's Messages API through the official ``anthropic`` SDK: plain and streamed messages,
the stream's exact event sequence, count_tokens and the models listing, against an
OpenAI-compatible model (``fake``) and an Anthropic one (``claude``)."""

from __future__ import annotations

import httpx
import pytest
from anthropic import Anthropic

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.messages_helpers import (
    HEADERS,
    MESSAGES_URL,
    check_block_order,
    claude,
    sse_events,
    user,
)

__all__ = ["claude"]  # fixtures these tests use

MODELS = ["fake", "claude"]


@pytest.mark.parametrize("model", MODELS)
def test_a_message_is_answered_whole(claude: Anthropic, model: str) -> None:
    message = claude.messages.create(
        model=model, max_tokens=100, messages=user(directive(tokens=3))
    )
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", model)
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].type == "text" and message.content[0].text == expected_text(3)
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert message.usage.output_tokens == 3
    assert message.usage.input_tokens > 0
    assert message.usage.cache_read_input_tokens == 0


@pytest.mark.parametrize("model", MODELS)
def test_a_streamed_message_accumulates_into_the_same_message(
    claude: Anthropic, model: str
) -> None:
    with claude.messages.stream(
        model=model, max_tokens=100, messages=user(directive(tokens=6))
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == expected_text(6)
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 6
    assert final.usage.input_tokens > 0


def test_the_stream_is_anthropic_s_exact_sequence(stack: Stack, client: httpx.Client) -> None:
    body = {
        "model": "fake",
        "max_tokens": 50,
        "stream": True,
        "messages": user(directive(tokens=4)),
    }
    response = client.post(f"{MESSAGES_URL}?beta=true", json=body, headers=HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    events = sse_events(response)
    check_block_order(events)
    names = [name for name, _ in events]
    deltas = names.count("content_block_delta")  # as many as the provider's reads
    assert deltas >= 1
    assert names == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert set(start["usage"]) >= {"input_tokens", "output_tokens"}
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    pieces = [data["delta"]["text"] for name, data in events if name == "content_block_delta"]
    assert "".join(pieces) == expected_text(4)
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 4 and delta["usage"]["input_tokens"] > 0


def test_pings_keep_a_quiet_stream_alive(claude: Anthropic, client: httpx.Client) -> None:
    # The stack's keep-alive interval is 0.5 s: a 1.5 s wait for the first token gets pings.
    prompt = directive(tokens=2, first_token_delay_ms=1500)
    body = {"model": "fake", "max_tokens": 50, "stream": True, "messages": user(prompt)}
    events = sse_events(client.post(MESSAGES_URL, json=body, headers=HEADERS))
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert "ping" in names[: names.index("content_block_start")]
    check_block_order(events)


def test_both_credential_headers_and_the_beta_headers_are_accepted(stack: Stack) -> None:
    assert stack.api_key is not None
    body = {"model": "fake", "max_tokens": 20, "messages": user(directive(tokens=1))}
    betas = {"anthropic-beta": "claude-code-20250219,some-future-beta-2027-01-01", **HEADERS}
    for credentials in (
        {"x-api-key": stack.api_key},
        {"Authorization": f"Bearer {stack.api_key}"},
        {"x-api-key": stack.api_key, "Authorization": f"Bearer {stack.api_key}"},
    ):
        response = httpx.post(
            f"{stack.base_url}{MESSAGES_URL}?beta=true",
            json=body,
            headers={**credentials, **betas},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["content"][0]["text"] == "t1"
    with Anthropic(base_url=stack.base_url, auth_token=stack.api_key, max_retries=0) as bearer:
        message = bearer.messages.create(
            model="fake", max_tokens=20, messages=user(directive(tokens=2))
        )
        assert message.content[0].type == "text" and message.content[0].text == "t1 t2"


def test_system_blocks_and_system_turns_reach_the_provider(claude: Anthropic, stack: Stack) -> None:
    tag = new_tag()
    message = claude.messages.create(
        model="fake",
        max_tokens=50,
        system=[
            {"type": "text", "text": "attribution: cc_version=1"},
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": directive(tokens=2, tag=tag)}]},
            # Claude Code sends system turns inside the conversation.
            {"role": "system", "content": [{"type": "text", "text": "# Environment"}]},
        ],
    )
    assert message.content[0].type == "text" and message.content[0].text == "t1 t2"
    sent = stack.fake.wait_for(tag)["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "system"]
    assert [p["text"] for p in sent[0]["content"]] == [
        "attribution: cc_version=1",
        "You are terse.",
    ]
    assert "cache_control" not in sent[0]["content"][1]  # dropped for an OpenAI-compatible server


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens_estimates_the_prompt(claude: Anthropic, model: str) -> None:
    short = claude.messages.count_tokens(model=model, messages=user("hello there"))
    longer = claude.messages.count_tokens(
        model=model, system="Be brief. " * 50, messages=user("hello there " * 100)
    )
    with_tools = claude.messages.count_tokens(
        model=model,
        messages=user("hello there"),
        tools=[{"name": "t", "input_schema": {"type": "object", "properties": {}}}],
    )
    assert 0 < short.input_tokens < longer.input_tokens
    assert with_tools.input_tokens > short.input_tokens


def test_models_are_listed_in_anthropic_s_shape_for_anthropic_clients(
    claude: Anthropic, client: httpx.Client
) -> None:
    page = claude.models.list(limit=1000)
    ids = [model.id for model in page.data]
    assert {"fake", "claude"} <= set(ids)
    assert all(model.type == "model" and model.display_name == model.id for model in page.data)
    raw = client.get("/v1/models", params={"limit": 2}, headers=HEADERS).json()
    assert set(raw) == {"data", "has_more", "first_id", "last_id"}
    assert raw["has_more"] is True and len(raw["data"]) == 2
    after = client.get(
        "/v1/models", params={"limit": 1000, "after_id": raw["last_id"]}, headers=HEADERS
    ).json()
    assert [m["id"] for m in raw["data"]] + [m["id"] for m in after["data"]] == ids
    assert claude.models.retrieve("claude").id == "claude"
    # Without anthropic-version, the same path is OpenAI's listing.
    openai_shaped = client.get("/v1/models").json()
    assert openai_shaped["object"] == "list" and "has_more" not in openai_shaped


@pytest.mark.parametrize("model", MODELS)
def test_a_cut_answer_stops_for_max_tokens(claude: Anthropic, model: str) -> None:
    prompt = user(directive(tokens=3, finish_reason="length"))
    message = claude.messages.create(model=model, max_tokens=3, messages=prompt)
    assert message.stop_reason == "max_tokens"


def test_prompt_cache_marks_keep_their_ttl_and_usage_splits_the_writes(
    claude: Anthropic, stack: Stack
) -> None:
    tag = new_tag()
    system = f"You are a careful assistant ({tag}). " * 40
    usages = []
    for turn in (1, 2):
        message = claude.messages.create(
            model="claude",
            max_tokens=50,
            system=[
                {
                    "type": "text",
                    "text": system,
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                }
            ],
            messages=user(f"question {turn} {directive(tokens=2, tag=tag)}"),
        )
        usages.append(message.usage)
    sent = stack.fake.requests(tag)[0]["body"]["system"]
    assert sent[0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    written, read = usages
    assert written.cache_creation_input_tokens and written.cache_creation_input_tokens > 0
    assert written.cache_creation is not None
    assert written.cache_creation.ephemeral_1h_input_tokens == written.cache_creation_input_tokens
    assert read.cache_read_input_tokens == written.cache_creation_input_tokens
    assert read.input_tokens < written.input_tokens + written.cache_creation_input_tokens


def test_the_demo_model_answers_an_anthropic_client(claude: Anthropic) -> None:
    message = claude.messages.create(model="demo", max_tokens=50, messages=user("Hi"))
    assert message.content[0].type == "text" and message.content[0].text
