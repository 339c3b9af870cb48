"""OpenAI chat completion requests into the gateway's ChatRequest: mapping and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import InvalidRequest, InvalidToolSchema, UnsupportedUrl
from shared.openai_format import (
    StreamMode,
    UnknownParameter,
    UnsupportedParameter,
    chat_request_from_openai,
    openai_error_body,
    openai_status,
    stream_mode_of,
)


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}


def param_of(error: pytest.ExceptionInfo[InvalidRequest]) -> Any:
    return openai_error_body(error.value)["error"]["param"]


def test_fields_are_mapped_and_nulls_are_absent() -> None:
    request = chat_request_from_openai(
        body(
            temperature=0.5,
            top_p=0.9,
            max_completion_tokens=100,
            stop=["x"],
            presence_penalty=0.1,
            frequency_penalty=0.2,
            seed=7,
            user="u1",
            store=True,
            metadata={"a": "b"},
            n=1,
            tools=[],
            tool_choice="none",
            logprobs=False,
            stream=True,
            stream_options={"include_usage": True},
            service_tier=None,
            response_format={"type": "json_object"},
            reasoning_effort="low",
            fallback_models=["b"],
            provider="p",
            cache={"no_store": True},
            timeout_s=30,
            extra_body={"top_k": 3},
        )
    )
    assert request.model == "m"
    assert request.sampling_options() == {
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 100,
        "stop": ["x"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "seed": 7,
        "user": "u1",
    }
    assert (request.models, request.provider, request.timeout_s) == (["b"], "p", 30)
    assert request.cache is not None and request.cache.no_store
    # Structured output and reasoning are the gateway's own fields now (each adapter maps them).
    assert request.extra_body == {"top_k": 3}
    assert request.response_format is not None and request.response_format.type == "json_object"
    assert request.reasoning_effort == "low"
    assert (request.tools, request.tool_choice) == ([], "none")


def test_text_parts_are_kept_and_read_as_one_text() -> None:
    request = chat_request_from_openai(
        body(
            messages=[
                {"role": "developer", "content": [{"type": "text", "text": "be brief"}]},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
                    "name": "ann",
                },
                {"role": "assistant", "content": None, "refusal": "no", "tool_calls": []},
            ]
        )
    )
    assert [(m.role, m.text, m.name) for m in request.messages] == [
        ("developer", "be brief", None),
        ("user", "one\ntwo", "ann"),
        ("assistant", "", None),
    ]
    assert len(request.messages[1].parts) == 2  # parts stay parts (they may carry cache marks)


def test_max_tokens_under_either_name() -> None:
    assert chat_request_from_openai(body(max_tokens=5)).max_tokens == 5
    assert chat_request_from_openai(body(max_tokens=5, max_completion_tokens=5)).max_tokens == 5
    with pytest.raises(InvalidRequest) as both:
        chat_request_from_openai(body(max_tokens=5, max_completion_tokens=6))
    assert param_of(both) == "max_tokens"


@pytest.mark.parametrize(
    ("fields", "error", "param"),
    [
        ({"n": 2}, UnsupportedParameter, "n"),
        ({"n": True}, UnsupportedParameter, "n"),
        ({"logprobs": True}, UnsupportedParameter, "logprobs"),
        ({"tools": [{"type": "function"}]}, InvalidRequest, "tools[0].function"),
        ({"tool_choice": "required"}, InvalidToolSchema, "tool_choice"),
        ({"functions": [{"name": "f"}]}, UnsupportedParameter, "functions"),
        ({"modalities": ["text", "audio"]}, UnsupportedParameter, "modalities"),
        ({"temprature": 1}, UnknownParameter, "temprature"),
        ({"temperature": 3}, InvalidRequest, "temperature"),
        ({"temperature": "hot"}, InvalidRequest, "temperature"),
        ({"max_completion_tokens": 0}, InvalidRequest, "max_completion_tokens"),
        ({"max_tokens": 0}, InvalidRequest, "max_tokens"),
        ({"stop": ""}, InvalidRequest, "stop"),
        ({"fallback_models": "b"}, InvalidRequest, "fallback_models"),
        ({"cache": {"no_cach": True}}, InvalidRequest, "cache.no_cach"),
        ({"extra_body": []}, InvalidRequest, "extra_body"),
        ({"messages": []}, InvalidRequest, "messages"),
        ({"messages": "hi"}, InvalidRequest, "messages"),
        ({"messages": ["hi"]}, InvalidRequest, "messages[0]"),
        ({"messages": [{"role": "bot", "content": "x"}]}, InvalidRequest, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 1}]}, InvalidRequest, "messages[0].content"),
        ({"messages": [{"role": "user"}]}, InvalidRequest, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": "x", "colour": 1}]},
            UnknownParameter,
            "messages[0].colour",
        ),
        (
            {"messages": [{"role": "assistant", "content": "", "tool_calls": [{"id": "c"}]}]},
            InvalidRequest,
            "messages[0].tool_calls[0].function",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {"type": "image_url", "image_url": {"url": "x"}},
                        ],
                    }
                ]
            },
            UnsupportedUrl,
            "messages[0].content[1].image_url.url",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]},
            InvalidRequest,
            "messages[0].content[0].text",
        ),
    ],
)
def test_bad_input_names_the_param(
    fields: dict[str, Any], error: type[InvalidRequest], param: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        chat_request_from_openai(body(**fields))
    assert type(raised.value) is error
    assert param_of(raised) == param
    assert openai_status(raised.value) == 400


def test_legacy_functions_say_to_send_tools() -> None:
    with pytest.raises(UnsupportedParameter, match="send tools"):
        chat_request_from_openai(body(functions=[{"name": "f"}]))


def test_headers_fill_in_what_the_body_leaves_unset() -> None:
    headers = {"X-Gateway-Provider": "p", "X-Gateway-Fallback-Models": "a, b,"}
    request = chat_request_from_openai(body(), headers=headers)
    assert (request.provider, request.models) == ("p", ["a", "b"])
    request = chat_request_from_openai(body(provider="q"), headers=headers)
    assert (request.provider, request.models) == ("q", ["a", "b"])


def test_stream_mode() -> None:
    assert stream_mode_of(body()) == StreamMode()
    assert stream_mode_of(body(stream=False, stream_options={"include_usage": True})) == (
        StreamMode()
    )
    assert stream_mode_of(body(stream=True)) == StreamMode(stream=True)
    assert stream_mode_of(
        body(stream=True, stream_options={"include_usage": True, "include_obfuscation": False})
    ) == StreamMode(stream=True, include_usage=True)
    bad_modes: list[tuple[dict[str, Any], str]] = [
        ({"stream": "yes"}, "stream"),
        ({"stream": True, "stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
    ]
    for bad, param in bad_modes:
        with pytest.raises(InvalidRequest) as raised:
            stream_mode_of(body(**bad))
        assert param_of(raised) == param
