"""The OpenAI stream on the wire: its framing, keep-alives, and clients that leave early."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.openai_helpers import sdk, user

__all__ = ["sdk"]  # fixtures these tests use

CHAT_URL = "/v1/chat/completions"


def impatient(stack: Stack, timeout_s: float) -> OpenAI:
    """A client that gives up after ``timeout_s`` (and closes its connection)."""
    url = f"{stack.base_url}/v1"
    return OpenAI(base_url=url, api_key=stack.api_key, max_retries=0, timeout=timeout_s)


def test_a_slow_answer_is_kept_alive_and_framed_as_openai_frames_it(
    client: httpx.Client, sdk: OpenAI
) -> None:
    # The stack's keep-alive interval is 0.5 s: the first token and each gap are longer.
    prompt = directive(tokens=2, first_token_delay_ms=1200, token_delay_ms=700)
    request = {"model": "fake", "messages": user(prompt), "stream": True}
    with client.stream("POST", CHAT_URL, json=request) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()

    # The role chunk goes out once the provider's stream opened; keep-alives fill the gaps.
    assert raw.startswith('data: {"id":"chatcmpl-')
    assert raw.endswith("\n\ndata: [DONE]\n\n")
    blocks = [block for block in raw.split("\n\n") if block]
    data = [line for block in blocks for line in block.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(line[len("data: ") :]) for line in data[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "t1 ", "t2", None]
    assert ": keep-alive\ndata: " in raw

    streamed = sdk.chat.completions.create(model="fake", messages=user(prompt), stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed)
    assert text == expected_text(2)


def test_leaving_before_the_first_token_cancels_the_job(stack: Stack) -> None:
    tag = new_tag()
    prompt = directive(tokens=50, first_token_delay_ms=2000, token_delay_ms=50, tag=tag)
    with impatient(stack, 0.2) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="fake", messages=user(prompt), stream=True)
    upstream = stack.fake.wait_for(tag, timeout=15)
    assert upstream["outcome"] == "client_closed"


def test_leaving_a_completion_that_is_not_streamed_cancels_it(stack: Stack) -> None:
    tag = new_tag()
    prompt = directive(tokens=300, token_delay_ms=30, tag=tag)
    with impatient(stack, 0.5) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="fake", messages=user(prompt))
    upstream = stack.fake.wait_for(tag, timeout=15)
    assert upstream["outcome"] == "client_closed"
    assert upstream["tokens_sent"] < 300
