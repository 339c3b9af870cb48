"""Bad input on the Responses API: OpenAI's error shape and status, a stable code and the
field at fault as the Responses body names it, never a 500; and the SDK's error classes."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.openai_helpers import fresh_circuits, sdk

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")

URL = "/v1/responses"
BAD_SCHEMA = {"type": "function", "name": "f", "parameters": {"type": 1}}


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"model": "fake"}, "invalid_request", "input"),
        ({"input": 5}, "invalid_request", "input"),
        ({"input": "x", "temprature": 1}, "unknown_parameter", "temprature"),
        ({"input": "x", "temperature": 5}, "invalid_request", "temperature"),
        ({"input": "x", "max_output_tokens": 0}, "invalid_request", "max_output_tokens"),
        ({"input": "x", "reasoning": {"effort": "ultra"}}, "invalid_request", "reasoning.effort"),
        ({"input": "x", "prompt": {"id": "pmpt_1"}}, "unsupported_parameter", "prompt"),
        ({"input": "x", "background": True, "store": False}, "invalid_request", "background"),
        (
            {"input": "x", "previous_response_id": "resp_nobody"},
            "previous_response_not_found",
            "previous_response_id",
        ),
        (
            {"input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]},
            "unsupported_parameter",
            "tools[0].type",
        ),
        ({"input": "x", "tools": [BAD_SCHEMA]}, "invalid_tool_schema", "tools[0].parameters"),
        (  # a dropped web_search before it: the error still names the body's index
            {"input": "x", "tools": [{"type": "web_search"}, BAD_SCHEMA]},
            "invalid_tool_schema",
            "tools[1].parameters",
        ),
        (
            {"input": "x", "tool_choice": {"type": "web_search_preview"}},
            "unsupported_parameter",
            "tool_choice",
        ),
        (
            {"input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}},
            "invalid_request",
            "text.format.name",
        ),
        (
            {"input": [{"type": "item_reference", "id": "msg_1"}]},
            "unsupported_parameter",
            "input[0].type",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "call_x", "output": "r"}]},
            "tool_call_unmatched",
            "input[0]",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}
                ]
            },
            "unsupported_url",
            "input[0].content[0].image_url",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_sound", "data": "x"}]}]},
            "invalid_request",
            "input[0].content[0].type",
        ),
        (
            {
                "input": [
                    {"type": "reasoning", "summary": [], "encrypted_content": "llmgw.r1.!!"},
                    {"role": "user", "content": "x"},
                ]
            },
            "invalid_request",
            "input[0].encrypted_content",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "invalid_request",
            "input[0].call_id",
        ),
    ],
)
def test_bad_input_gets_openais_error_shape(
    client: httpx.Client, body: dict[str, Any], code: str, param: str
) -> None:
    response = client.post(URL, json={"model": "fake", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")
    assert response.headers["x-should-retry"] == "false"


def test_a_body_that_is_not_json_is_malformed(client: httpx.Client) -> None:
    response = client.post(URL, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"


def test_the_sdk_raises_its_own_error_classes(sdk: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.responses.retrieve("resp_nobody")
    assert missing.value.code == "response_not_found"
    with pytest.raises(openai.NotFoundError) as model:
        sdk.responses.create(model="gpt-nope", input="x")
    assert model.value.code == "model_not_found"
    hosted: Any = [{"type": "code_interpreter", "container": {"type": "auto"}}]
    with pytest.raises(openai.BadRequestError) as unsupported:
        sdk.responses.create(model="fake", input="x", tools=hosted)
    assert unsupported.value.code == "unsupported_parameter"
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=str(sdk.base_url), api_key="lgw-0-bogus", max_retries=0).responses.create(
            model="fake", input="x"
        )
