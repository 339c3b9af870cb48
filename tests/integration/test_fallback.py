"""Fallback and retries through the real gateway, worker and Redis: one failing provider does not
fail the user, and nothing is spliced after the first token."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.conftest import Stack
from tests.helpers import (
    COMPLETE_URL,
    STREAM_URL,
    chat,
    content_of,
    data,
    expected_text,
    new_tag,
)


@pytest.fixture(autouse=True)
def fresh_circuits(stack: Stack) -> None:
    """Each test starts with every circuit closed (failures of earlier tests would open them)."""
    for key in stack.redis.scan_iter("llm:circuit:*"):
        stack.redis.delete(key)


def scoped(model: str, **scenario: Any) -> str:
    """A fake-provider directive for one upstream model only."""
    return f"FAKE:{model}" + json.dumps(scenario)


def stream(client: httpx.Client, body: dict[str, Any]) -> list[ServerSentEvent]:
    with connect_sse(client, "POST", STREAM_URL, json=body) as source:
        return list(source.iter_sse())


def kinds(events: list[ServerSentEvent]) -> list[str]:
    """Event types with consecutive deltas folded into one."""
    folded: list[str] = []
    for event in events:
        if not (event.event == "delta" and folded and folded[-1] == "delta"):
            folded.append(event.event)
    return folded


RETRYABLE_FAULTS = [
    pytest.param({"status": 503}, "provider_unavailable", id="503"),
    pytest.param({"status": 500}, "provider_unavailable", id="500"),
    pytest.param({"status": 502}, "provider_unavailable", id="502"),
    pytest.param({"status": 529}, "provider_unavailable", id="529"),
    pytest.param({"status": 429}, "provider_unavailable", id="429"),
    pytest.param({"status": 408}, "provider_unavailable", id="408"),
    pytest.param({"status": 409}, "provider_unavailable", id="409"),
    pytest.param({"status": 402}, "provider_quota_exhausted", id="402"),
    pytest.param(
        {"fault": "error_frame_after", "fault_after": 0}, "provider_unavailable", id="error-frame"
    ),
    pytest.param({"fault": "drop_after", "fault_after": 0}, "stream_interrupted", id="drop"),
    pytest.param(
        {"fault": "malformed_after", "fault_after": 0}, "stream_interrupted", id="malformed"
    ),
    pytest.param({"fault": "no_done", "tokens": 0}, "stream_interrupted", id="no-done"),
]


@pytest.mark.parametrize(("fault", "code"), RETRYABLE_FAULTS)
def test_a_retryable_fault_before_the_first_token_falls_back(
    client: httpx.Client, stack: Stack, fault: dict[str, Any], code: str
) -> None:
    tag = new_tag()
    prompt = f"hi {scoped('fake-a', tag=tag, **fault)} {scoped('fake-b', tokens=9, tag=tag)}"
    events = stream(client, chat(prompt, model="chain"))

    assert kinds(events) == ["start", "fallback", "delta", "done"]
    fallback = data(events[1])
    assert (fallback["provider"], fallback["model"], fallback["code"]) == ("fake", "fake-a", code)
    assert (fallback["next_provider"], fallback["next_model"]) == ("fake_backup", "fake-b")
    assert content_of(events) == expected_text(9)
    assert (data(events[-1])["provider"], data(events[-1])["model"]) == ("fake_backup", "fake-b")
    assert [r["model"] for r in stack.fake.requests(tag)] == ["fake-a", "fake-b"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_rejected_request_does_not_fall_back(
    client: httpx.Client, stack: Stack, status: int
) -> None:
    tag = new_tag()
    events = stream(client, chat(f"x {scoped('fake-a', status=status, tag=tag)}", model="chain"))
    assert kinds(events) == ["start", "error"]
    assert data(events[-1])["code"] == "provider_rejected"
    assert data(events[-1])["retryable"] is False
    assert [r["model"] for r in stack.fake.requests(tag)] == ["fake-a"]


def test_a_fault_after_the_first_token_ends_with_an_error_not_a_splice(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    prompt = scoped("fake-a", tokens=10, fault="drop_after", fault_after=3, tag=tag)
    events = stream(client, chat(prompt, model="chain"))

    assert kinds(events) == ["start", "delta", "error"]
    error = data(events[-1])
    assert error["code"] == "stream_interrupted"
    assert content_of(events) == "t1 t2 t3 "
    assert error["delivered"]["content_chars"] == len("t1 t2 t3 ")
    assert [r["model"] for r in stack.fake.requests(tag)] == ["fake-a"]  # no second provider


def test_a_json_answer_that_breaks_off_falls_back_since_nobody_saw_it(
    client: httpx.Client, stack: Stack
) -> None:
    """A JSON request's answer is asked for whole: one that breaks off halfway was never
    delivered, so the next provider answers (a stream, having shown tokens, ends in error)."""
    tag = new_tag()
    broken = scoped("fake-a", tokens=10, fault="drop_after", fault_after=3, tag=tag)
    prompt = f"hi {broken} {scoped('fake-b', tokens=9, tag=tag)}"
    response = client.post(COMPLETE_URL, json=chat(prompt, model="chain"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["content"] == expected_text(9)
    assert (answer["provider"], answer["provider_model"]) == ("fake_backup", "fake-b")
    assert [(r["model"], r["stream"]) for r in stack.fake.requests(tag)] == [
        ("fake-a", False),
        ("fake-b", False),
    ]


def test_every_provider_failing_gives_one_error_naming_each_attempt(client: httpx.Client) -> None:
    events = stream(client, chat('FAKE{"status": 503}', model="chain"))
    assert kinds(events) == ["start", "fallback", "error"]
    error = data(events[-1])
    assert error["code"] == "all_providers_failed"
    attempts = error["details"]["attempts"]
    assert [(a["provider"], a["model"], a["code"]) for a in attempts] == [
        ("fake", "fake-a", "provider_unavailable"),
        ("fake_backup", "fake-b", "provider_unavailable"),
    ]
    assert "fake/fake-a" in error["message"] and "fake_backup/fake-b" in error["message"]

    response = client.post(COMPLETE_URL, json=chat('FAKE{"status": 503}', model="chain"))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "all_providers_failed"


def test_context_length_falls_back_only_to_a_longer_context(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    prompt = f"{scoped('fake-small', context_length=True, tag=tag)} {scoped('fake-large', tag=tag)}"
    events = stream(client, chat(prompt, model="contexts"))
    assert kinds(events) == ["start", "fallback", "delta", "done"]
    assert data(events[1])["code"] == "context_length_exceeded"
    assert data(events[1])["next_model"] == "fake-large"
    assert [r["model"] for r in stack.fake.requests(tag)] == ["fake-small", "fake-large"]


def test_retry_after_is_honoured(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = scoped("fake-r", status=429, retry_after=1, tag=tag)
    events = stream(client, chat(prompt, model="retrying"))
    assert kinds(events) == ["start", "fallback", "error"]
    assert data(events[1])["wait_s"] == 1
    assert (data(events[1])["next_provider"], data(events[1])["next_model"]) == ("fake", "fake-r")
    first, second = stack.fake.requests(tag)
    assert second["started_at"] - first["ended_at"] >= 0.95


def test_retry_after_never_waits_past_the_deadline(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    prompt = scoped("fake-r", status=429, retry_after=30, tag=tag)
    started = time.monotonic()
    events = stream(client, chat(prompt, model="retrying", timeout_s=3))
    assert time.monotonic() - started < 3
    assert events[-1].event == "error"
    assert data(events[-1])["code"] == "provider_unavailable"
    assert len(stack.fake.requests(tag)) == 1


def test_explicit_provider_and_client_fallback_list(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    events = stream(client, chat(scoped("fake-a", tag=tag), model="chain", provider="fake_backup"))
    assert data(events[0])["provider"] == "fake_backup"
    assert events[-1].event == "done"

    tag = new_tag()
    prompt = f"{scoped('fake-model', status=503, tag=tag)} {scoped('fake-a', tag=tag)}"
    events = stream(client, chat(prompt, model="fake", models=["chain"]))
    assert kinds(events) == ["start", "fallback", "delta", "done"]
    assert [r["model"] for r in stack.fake.requests(tag)] == ["fake-model", "fake-a"]

    missing = client.post(STREAM_URL, json=chat("x", model="chain", provider="nobody"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "provider_not_found"
    unserved = client.post(STREAM_URL, json=chat("x", model="fake", provider="fake_backup"))
    assert unserved.status_code == 422
    unknown = client.post(STREAM_URL, json=chat("x", model="fake", models=["nope"]))
    assert unknown.status_code == 404


def test_extra_body_reaches_the_provider_and_cannot_override_our_fields(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    body = chat(
        scoped("fake-model", tag=tag),
        extra_body={"seed_hint": 7, "stream": False, "model": "other"},
    )
    assert stream(client, body)[-1].event == "done"
    sent = stack.fake.wait_for(tag)["body"]
    assert sent["seed_hint"] == 7
    assert (sent["model"], sent["stream"]) == ("fake-model", True)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        pytest.param({"first_token_delay_ms": 3000}, "provider_timeout", id="first-token"),
        pytest.param(
            {"fault": "stall_after", "fault_after": 0, "stall_s": 5},
            "provider_timeout",
            id="stall-before-first-token",
        ),
    ],
)
def test_a_time_budget_running_out_falls_back(
    client: httpx.Client, stack: Stack, fault: dict[str, Any], code: str
) -> None:
    tag = new_tag()
    prompt = f"{scoped('fake-q', tag=tag, **fault)} {scoped('fake-b', tag=tag)}"
    events = stream(client, chat(prompt, model="quick"))
    assert kinds(events) == ["start", "fallback", "delta", "done"]
    assert data(events[1])["code"] == code
    assert stack.fake.wait_for(tag)["model"] == "fake-b"


def test_an_idle_stall_after_the_first_token_ends_with_an_error(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    prompt = scoped("fake-q", tokens=6, fault="stall_after", fault_after=2, stall_s=5, tag=tag)
    events = stream(client, chat(prompt, model="quick"))
    assert kinds(events) == ["start", "delta", "error"]
    assert data(events[-1])["code"] == "provider_timeout"
    assert content_of(events) == "t1 t2 "
    assert stack.fake.wait_for(tag)["outcome"] == "client_closed"  # we hung up on the stall


def test_a_connect_error_falls_back(client: httpx.Client) -> None:
    events = stream(client, chat(scoped("fake-b", tokens=4), model="behind-dead"))
    assert kinds(events) == ["start", "fallback", "delta", "done"]
    assert data(events[1])["code"] == "provider_unavailable"
    assert data(events[1])["provider"] == "unreachable"
    assert content_of(events) == expected_text(4)
