"""Errors of the OpenAI-compatible API: OpenAI's shape and status, as the SDK raises them."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.openai_helpers import fresh_circuits, sdk, user

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")

CHAT_URL = "/v1/chat/completions"


def test_unknown_model_is_not_found(sdk: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.chat.completions.create(model="gpt-nope", messages=user("x"))
    error = raised.value
    assert error.code == "model_not_found"
    assert error.type == "not_found_error"
    assert isinstance(error.body, dict) and set(error.body) == {"message", "type", "param", "code"}


def test_a_bad_key_is_an_authentication_error(stack: Stack) -> None:
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key="lgw-0-bogus", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as raised:
            client.chat.completions.create(model="fake", messages=user("x"))
        assert raised.value.code == "unauthorized"
        with pytest.raises(openai.AuthenticationError):
            client.models.list()


@pytest.mark.parametrize(
    ("options", "code", "param"),
    [
        ({"temperature": 5}, "invalid_request", "temperature"),
        ({"max_completion_tokens": 0}, "invalid_request", "max_completion_tokens"),
        ({"n": 2}, "unsupported_parameter", "n"),
        ({"logprobs": True}, "unsupported_parameter", "logprobs"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 1}}}]},
            "invalid_tool_schema",
            "tools[0].function.parameters",
        ),
        ({"extra_body": {"temprature": 1}}, "unknown_parameter", "temprature"),
        ({"extra_body": {"fallback_models": "chain"}}, "invalid_request", "fallback_models"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "invalid_request", "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "invalid_request",
            "messages[0].content[0].image_url.url",
        ),
    ],
)
def test_invalid_parameters_are_bad_requests_naming_the_param(
    sdk: OpenAI, options: dict[str, Any], code: str, param: str
) -> None:
    arguments: dict[str, Any] = {"model": "fake", "messages": user("x"), **options}
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.chat.completions.create(**arguments)
    assert (raised.value.code, raised.value.param) == (code, param)
    assert raised.value.type == "invalid_request_error"


def test_a_failure_after_the_first_token_raises_while_iterating(sdk: OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="guarded",
        messages=user(directive(tokens=10, fault="drop_after", fault_after=3)),
        stream=True,
    )
    received: list[str] = []

    def read_all() -> None:
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)

    with pytest.raises(openai.APIError) as raised:
        read_all()
    assert "".join(received) == "t1 t2 t3 "
    assert raised.value.code == "stream_interrupted"


def test_a_failure_before_the_first_token_is_an_http_error(sdk: OpenAI, stack: Stack) -> None:
    prompt = directive(context_length=True)
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as too_long:
            sdk.chat.completions.create(model="guarded", messages=user(prompt), stream=stream)
        assert too_long.value.code == "context_length_exceeded"

    tag = new_tag()
    retrying = sdk.with_options(max_retries=2)
    with pytest.raises(openai.InternalServerError) as rejected:
        retrying.chat.completions.create(
            model="guarded", messages=user(directive(status=400, tag=tag)), stream=True
        )
    assert rejected.value.code == "provider_rejected"
    assert rejected.value.response.headers["x-should-retry"] == "false"
    assert len(stack.fake.requests(tag)) == 1  # the SDK did not retry what cannot succeed


def test_every_error_under_v1_has_the_openai_shape(stack: Stack, client: httpx.Client) -> None:
    def error_of(response: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return body

    not_json = client.post(CHAT_URL, content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert error_of(not_json)["error"]["code"] == "malformed_body"

    array = client.post(CHAT_URL, json=[1, 2])
    assert array.status_code == 400
    assert error_of(array)["error"]["type"] == "invalid_request_error"

    too_large = client.post(CHAT_URL, json={"model": "fake", "messages": user("x" * 1_100_000)})
    assert too_large.status_code == 413
    assert error_of(too_large)["error"]["code"] == "request_too_large"

    unknown_route = client.get("/v1/nothing-here")
    assert unknown_route.status_code == 404
    assert error_of(unknown_route)["error"]["type"] == "not_found_error"

    anonymous = httpx.get(f"{stack.base_url}/v1/models")
    assert anonymous.status_code == 401
    assert error_of(anonymous)["error"]["type"] == "authentication_error"

    # The native API keeps its own shape.
    native = httpx.get(f"{stack.base_url}/api/v1/llm/models")
    assert set(native.json()["error"]) == {"code", "message", "retryable"}


def test_answers_after_errors_still_work(sdk: OpenAI) -> None:
    completion = sdk.chat.completions.create(model="fake", messages=user(directive(tokens=2)))
    assert completion.choices[0].message.content == expected_text(2)
