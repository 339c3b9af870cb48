"""Images and files reach each provider in its own format, steps that cannot take them are
skipped or the request refused, bad content is a 400 naming its field, and tool calls resume and
replay from the cache exactly as text does."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from openai import BadRequestError, OpenAI

from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, JOBS_URL, STREAM_URL, data, directive, new_tag
from tests.openai_helpers import fresh_circuits, sdk
from tests.tool_helpers import STOCK, WEATHER, image_part, pdf_part

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")


def look(tag: str, *parts: dict[str, Any]) -> list[Any]:
    text = {"type": "text", "text": f"what is this {directive(tag=tag, tokens=2)}"}
    return [{"role": "user", "content": [text, *parts]}]


@pytest.mark.parametrize("model", ["fake", "or-model"])
def test_an_image_and_a_pdf_reach_the_provider_as_parts(
    sdk: OpenAI, stack: Stack, model: str
) -> None:
    tag = new_tag()
    sdk.chat.completions.create(model=model, messages=look(tag, image_part(), pdf_part()))
    parts = stack.fake.wait_for(tag)["parts"]
    assert [(p["type"], p["source"], p["media_type"]) for p in parts] == [
        ("image_url", "data", "image/png"),
        ("file", "data", "application/pdf"),
    ]
    assert parts[0]["size"] == [1, 1]
    assert parts[1]["filename"] == "doc.pdf"


def test_a_model_that_takes_no_images_refuses_them_naming_what_is_missing(
    sdk: OpenAI, stack: Stack
) -> None:
    tag = new_tag()
    with pytest.raises(BadRequestError) as raised:
        sdk.chat.completions.create(model="ds-chat", messages=look(tag, image_part()))
    assert raised.value.code == "capability_unsupported"
    assert "vision" in raised.value.message
    assert stack.fake.requests(tag) == []  # no provider was called


def test_a_step_that_takes_no_images_is_skipped_and_the_job_says_so(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    response = client.post(
        COMPLETE_URL, json={"model": "ds-then-fake", "messages": look(tag, image_part())}
    )
    assert response.status_code == 200, response.text
    assert response.json()["provider"] == "fake"
    [upstream] = stack.fake.requests(tag)
    assert upstream["model"] == "fake-vision"
    job = client.get(f"{JOBS_URL}/{response.json()['id']}").json()
    assert job["attempts"] == [
        {
            "provider": "deepseek",
            "model": "deepseek-chat",
            "skipped": "capability_unsupported",
            "missing": ["vision"],
            "code": None,
            "message": None,
            "upstream_status": None,
        }
    ]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 1}}}]},
            "invalid_tool_schema",
            "tools[0].function.parameters",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "tool", "tool_call_id": "call_nobody", "content": "42"},
                ]
            },
            "tool_call_unmatched",
            "messages[1].tool_call_id",
        ),
        (
            {"messages": look("x", image_part(base64.b64encode(b"\x89PNG" * 70_000).decode()))},
            "attachment_too_large",
            "messages[0].content[1].image_url.url",
        ),
        (
            {"messages": look("x", image_part("not base64!"))},
            "invalid_data_url",
            "messages[0].content[1].image_url.url",
        ),
        (
            {
                "messages": look(
                    "x", {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}
                )
            },
            "unsupported_url",
            "messages[0].content[1].image_url.url",
        ),
        ({"model": "ds-chat", "messages": look("x", image_part())}, "capability_unsupported", None),
    ],
)
def test_bad_content_is_a_400_with_a_stable_code_and_its_param(
    stack: Stack, body: dict[str, Any], code: str, param: str | None
) -> None:
    request = {"model": "fake", "messages": [{"role": "user", "content": "hi"}], **body}
    with httpx.Client(base_url=stack.base_url, headers=stack.auth_headers, timeout=30) as client:
        openai_style = client.post("/v1/chat/completions", json=request)
        native = client.post(COMPLETE_URL, json=request)
    assert openai_style.status_code == 400
    error = openai_style.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert native.status_code == 400
    assert native.json()["error"]["code"] == code


def test_a_tool_call_dropped_mid_arguments_resumes_with_the_same_arguments(
    client: httpx.Client,
) -> None:
    prompt = directive(tool_calls="auto", chunk_chars=2, token_delay_ms=20)
    submitted = client.post(
        JOBS_URL, json={"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER]}
    )
    job_id = submitted.json()["id"]
    first: list[dict[str, Any]] = []
    with connect_sse(client, "GET", f"{JOBS_URL}/{job_id}/events") as source:
        for event in source.iter_sse():
            first.append(data(event))
            fragments = [f for e in first for f in e.get("tool_calls", ())]
            if len(fragments) >= 3:  # a header and some arguments, then the reader drops
                break
    headers = {"Last-Event-ID": str(first[-1]["seq"])}
    with connect_sse(client, "GET", f"{JOBS_URL}/{job_id}/events", headers=headers) as source:
        rest = [data(event) for event in source.iter_sse()]
    events = first + rest
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    streamed = "".join(f["arguments"] for e in events for f in e.get("tool_calls", ()))
    done = events[-1]
    assert done["type"] == "done" and done["finish_reason"] == "tool_calls"
    [call] = done["message"]["tool_calls"]
    assert streamed == call["function"]["arguments"]
    assert call["function"]["name"] == "get_weather"


def stream_events(client: httpx.Client, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    with connect_sse(client, "POST", STREAM_URL, json=body) as source:
        cache = source.response.headers["x-cache"]
        return [data(event) for event in source.iter_sse()], cache


def test_a_cached_tool_call_answer_replays_identically_and_other_tools_miss(
    client: httpx.Client,
) -> None:
    tag = new_tag()
    body = {
        "model": "cached",
        "messages": [{"role": "user", "content": directive(tag=tag, tool_calls="all")}],
        "tools": [WEATHER, STOCK],
    }
    live, first_cache = stream_events(client, body)
    replay, second_cache = stream_events(client, body)
    assert (first_cache, second_cache) == ("MISS", "HIT")

    def answer(events: list[dict[str, Any]]) -> list[Any]:
        return [
            (e["type"], e.get("tool_calls"), e.get("message"))
            for e in events
            if e["type"] in ("delta", "done")
        ]

    assert answer(replay) == answer(live)
    assert replay[-1]["message"]["tool_calls"]
    _, other_tools = stream_events(client, {**body, "tools": [STOCK, WEATHER]})
    assert other_tools == "MISS"
