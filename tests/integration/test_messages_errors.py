"""Errors of the Messages API: Anthropic's shape and statuses, as the SDK raises them (400, 401,
403, 404, 429, 529 and an error in the middle of a stream), and bad input refused with a stable
code and the field at fault, never a 500."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic

from tests.conftest import Stack
from tests.helpers import directive, new_tag
from tests.messages_helpers import (
    HEADERS,
    MESSAGES_URL,
    WEATHER,
    ask,
    claude,
    streamed_text,
    user,
)
from tests.openai_helpers import fresh_circuits
from tests.stack import create_api_key

__all__ = ["claude", "fresh_circuits"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")

BIG = base64.b64encode(bytes(300_000)).decode()  # over the stack's image cap, under its body cap


def anthropic_error(response: httpx.Response) -> dict[str, Any]:
    """The error of an answer, checked to be in Anthropic's shape."""
    body: dict[str, Any] = response.json()
    assert body["type"] == "error" and body["request_id"].startswith("req_")
    assert {"type", "message", "code"} <= set(body["error"])
    assert response.headers["request-id"] == body["request_id"]
    error: dict[str, Any] = body["error"]
    return error


def test_an_unknown_model_is_not_found(claude: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as raised:
        claude.messages.create(model="claude-nope", max_tokens=10, messages=user("x"))
    assert raised.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert raised.value.body["error"]["code"] == "model_not_found"  # type: ignore[index]


def test_a_bad_key_is_an_authentication_error_that_is_not_retried(stack: Stack) -> None:
    with Anthropic(base_url=stack.base_url, api_key="lgw-0-bogus", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError) as raised:
            client.messages.create(model="fake", max_tokens=10, messages=user("x"))
        assert raised.value.response.headers["x-should-retry"] == "false"
        with pytest.raises(anthropic.AuthenticationError):
            client.models.list()
    anonymous = httpx.post(f"{stack.base_url}{MESSAGES_URL}", json={}, headers=HEADERS)
    assert anonymous.status_code == 401
    assert anthropic_error(anonymous)["type"] == "authentication_error"


def test_a_model_the_key_may_not_use_is_a_permission_error(stack: Stack) -> None:
    key = create_api_key(stack.base_url, "demo only (messages)", allowed_models=["demo"])
    with Anthropic(base_url=stack.base_url, api_key=key, max_retries=0) as client:
        with pytest.raises(anthropic.PermissionDeniedError):
            client.messages.create(model="fake", max_tokens=10, messages=user("x"))
        with pytest.raises(anthropic.PermissionDeniedError):
            client.messages.count_tokens(model="fake", messages=user("x"))


def test_the_key_s_rate_limit_is_a_rate_limit_error_with_retry_after(stack: Stack) -> None:
    key = create_api_key(stack.base_url, "rpm (messages)", limits={"requests_per_minute": 1})
    with Anthropic(base_url=stack.base_url, api_key=key, max_retries=0) as client:
        client.messages.create(model="fake", max_tokens=10, messages=user(directive(tokens=1)))
        with pytest.raises(anthropic.RateLimitError) as raised:
            client.messages.create(model="fake", max_tokens=10, messages=user("again"))
    assert raised.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert int(raised.value.response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("stream", [False, True])
def test_overloaded_providers_are_529_overloaded_error(
    claude: Anthropic, stack: Stack, stream: bool
) -> None:
    tag = new_tag()
    retrying = claude.with_options(max_retries=1)
    arguments: dict[str, Any] = {
        "model": "guarded",
        "max_tokens": 10,
        "messages": user(directive(status=529, tag=tag)),
    }
    with pytest.raises(anthropic.OverloadedError) as raised:
        ask(retrying, stream, **arguments)
    assert raised.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    # The SDK retried (529 says it may help): every step of the route was tried twice.
    assert len(stack.fake.requests(tag)) >= 4


def test_a_prompt_too_long_is_a_bad_request_claude_code_can_act_on(claude: Anthropic) -> None:
    for stream in (False, True):
        with pytest.raises(anthropic.BadRequestError) as raised:
            ask(claude, stream, model="guarded", messages=user(directive(context_length=True)))
        error = raised.value.body["error"]  # type: ignore[index]
        assert error["code"] == "context_length_exceeded"
        assert error["message"].lower().startswith("prompt is too long")


def test_a_failure_mid_stream_is_an_error_event(claude: Anthropic, client: httpx.Client) -> None:
    # Tokens 20 ms apart: each in a read of its own before the drop (the worker's transport
    # loses what it read together with a dropped connection: main's test_openai_errors flakes so).
    prompt = directive(tokens=10, token_delay_ms=20, fault="drop_after", fault_after=3)
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        streamed_text(claude, received, model="guarded", max_tokens=50, messages=user(prompt))
    assert "".join(received) == "t1 t2 t3 "
    assert "stream_interrupted" in str(raised.value.body)
    raw = client.post(
        MESSAGES_URL,
        json={"model": "guarded", "max_tokens": 50, "stream": True, "messages": user(prompt)},
        headers=HEADERS,
    )
    tail = raw.text.strip().split("\n\n")[-1]
    assert tail.startswith("event: error\ndata: ")
    assert "message_stop" not in raw.text


def _message(**fields: Any) -> dict[str, Any]:
    return {"model": "fake", "max_tokens": 10, "messages": user("hi"), **fields}


def _user_blocks(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"model": "fake", "messages": user("hi")}, 400, "invalid_request", "max_tokens"),
        (_message(temperature=5), 400, "invalid_request", "temperature"),
        (_message(tempurature=0.5), 400, "unknown_parameter", "tempurature"),
        (_message(messages=[]), 400, "invalid_request", "messages"),
        (
            _message(messages=[{"role": "robot", "content": "x"}]),
            400,
            "invalid_request",
            "messages.0.role",
        ),
        (
            _message(messages=_user_blocks({"type": "server_tool_use", "id": "x"})),
            400,
            "unsupported_content",
            "messages.0.content.0",
        ),
        (
            _message(
                messages=_user_blocks(
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "not base64!",
                        },
                    }
                )
            ),
            400,
            "invalid_data_url",
            "messages.0",
        ),
        (
            _message(
                messages=_user_blocks({"type": "image", "source": {"type": "file", "file_id": "f"}})
            ),
            400,
            "unsupported_content",
            "messages.0.content.0.source",
        ),
        (
            _message(messages=_user_blocks({"type": "image", "source": {"type": "base64"}})),
            400,
            "invalid_request",
            "messages.0.content.0.source.media_type",
        ),
        (
            _message(
                messages=_user_blocks(
                    {"type": "tool_result", "tool_use_id": "toolu_x", "content": "r"}
                )
            ),
            400,
            "tool_call_unmatched",
            "messages.0.content.0",
        ),
        (
            _message(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
            400,
            "unsupported_parameter",
            "tools.0.type",
        ),
        (_message(tools=[{"name": "f"}]), 400, "invalid_request", "tools.0.input_schema"),
        (
            _message(tools=[{"name": "f", "input_schema": {"type": "string"}}]),
            400,
            "invalid_tool_schema",
            "tools.0.input_schema",
        ),
        (
            _message(tools=[WEATHER], tool_choice={"type": "tool"}),
            400,
            "invalid_request",
            "tool_choice.name",
        ),
        (
            _message(tool_choice={"type": "tool", "name": "nope"}),
            400,
            "invalid_tool_schema",
            "tool_choice",
        ),
        (_message(stop_sequences=["a", "b", "c", "d", "e"]), 400, "invalid_request", None),
        (_message(thinking={"type": "enabled"}), 400, "invalid_request", "thinking.budget_tokens"),
        (
            _message(thinking={"type": "enabled", "budget_tokens": 10}),
            400,
            "invalid_request",
            "thinking.budget_tokens",
        ),
        (_message(safeguards={"mode": "auto"}), 400, "unsupported_parameter", "safeguards"),
        (
            _message(mcp_servers=[{"type": "url", "url": "https://x"}]),
            400,
            "unsupported_parameter",
            "mcp_servers",
        ),
        (
            _message(
                messages=_user_blocks(
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": BIG},
                    }
                )
            ),
            400,
            "attachment_too_large",
            "messages.0",
        ),
    ],
)
def test_bad_input_is_refused_in_anthropic_s_shape(
    client: httpx.Client, body: dict[str, Any], status: int, code: str, param: str | None
) -> None:
    for stream in (False, True):
        response = client.post(MESSAGES_URL, json={**body, "stream": stream}, headers=HEADERS)
        assert response.status_code == status, response.text
        error = anthropic_error(response)
        assert (error["type"], error["code"], error.get("param")) == (
            "invalid_request_error",
            code,
            param,
        )


def test_what_no_route_takes_is_refused_in_anthropic_s_shape(
    stack: Stack, client: httpx.Client
) -> None:
    not_json = client.post(
        MESSAGES_URL, content=b"{nope", headers={**HEADERS, "content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert anthropic_error(not_json)["code"] == "malformed_body"

    array = client.post(MESSAGES_URL, json=[1, 2], headers=HEADERS)
    assert array.status_code == 400 and anthropic_error(array)["type"] == "invalid_request_error"

    too_large = client.post(
        MESSAGES_URL, json=_message(messages=user("x" * 1_100_000)), headers=HEADERS
    )
    assert too_large.status_code == 413
    assert anthropic_error(too_large)["type"] == "request_too_large"

    nowhere = client.post(f"{MESSAGES_URL}/nothing-here", json={}, headers=HEADERS)
    assert nowhere.status_code == 404
    assert anthropic_error(nowhere)["type"] == "not_found_error"

    wrong_method = client.get(MESSAGES_URL, headers=HEADERS)
    assert wrong_method.status_code == 405
    assert anthropic_error(wrong_method)["type"] == "invalid_request_error"

    no_key = httpx.get(f"{stack.base_url}/v1/models", headers=HEADERS)
    assert no_key.status_code == 401
    assert anthropic_error(no_key)["type"] == "authentication_error"


def test_a_spent_budget_is_a_billing_error_that_is_not_retried(stack: Stack) -> None:
    budget = {"limit_usd": 0.000001, "period": "month"}
    key = create_api_key(stack.base_url, "budget (messages)", budget=budget)
    with Anthropic(base_url=stack.base_url, api_key=key, max_retries=0) as client:
        client.messages.create(model="fake", max_tokens=10, messages=user(directive(tokens=5)))
        with pytest.raises(anthropic.RateLimitError) as raised:
            client.messages.create(model="fake", max_tokens=10, messages=user("more"))
    assert raised.value.body["error"]["type"] == "billing_error"  # type: ignore[index]
    assert raised.value.body["error"]["code"] == "budget_exceeded"  # type: ignore[index]
    assert raised.value.response.headers["x-should-retry"] == "false"
