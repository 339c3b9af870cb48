"""Completions, chunks and errors in OpenAI's format, checked against the SDK's own types."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from shared.chat import ChatRequest
from shared.content import AssistantMessage
from shared.errors import InvalidRequest, ModelNotFound, RateLimited, Unauthorized
from shared.events import DoneEvent, Event, decode_event
from shared.jobs import Answer, Job, JobResult, JobStatus, Timings
from shared.openai_format import (
    ChunkStream,
    chat_completion,
    openai_error_body,
    openai_status,
)
from shared.usage import Usage

REQUEST = ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})


def job(**fields: Any) -> Job:
    defaults: dict[str, Any] = {
        "id": "abc",
        "owner": "k",
        "kind": "stream",
        "status": JobStatus.SUCCEEDED,
        "model": "smart",
        "provider": "p",
        "provider_model": "upstream-1",
        "request": REQUEST,
        "timings": Timings(queued_at=1_700_000_000.5),
        "deadline_at": 1_700_000_600.0,
        "result": JobResult(content="Hello", finish_reason="length"),
        "usage": Usage(
            prompt_tokens=3,
            completion_tokens=5,
            total_tokens=8,
            cached_tokens=1,
            reasoning_tokens=2,
        ),
    }
    return Job(**{**defaults, **fields})


def test_a_job_as_a_chat_completion() -> None:
    completion = ChatCompletion.model_validate(chat_completion(Answer.of_job(job())), strict=True)
    assert (completion.id, completion.created, completion.model) == (
        "chatcmpl-abc",
        1_700_000_000,
        "smart",
    )
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 8
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 1
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2
    assert "reasoning_content" not in chat_completion(Answer.of_job(job()))["choices"][0]["message"]

    thought = job(result=JobResult(content="x", reasoning="because"), usage=None)
    answer = chat_completion(Answer.of_job(thought))
    assert answer["choices"][0]["message"]["reasoning_content"] == "because"
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["total_tokens"] == 0
    with pytest.raises(ValueError, match="no completion"):
        chat_completion(Answer.of_job(job(result=None, status=JobStatus.FAILED)))


def test_the_answer_read_off_the_done_event_is_the_jobs() -> None:
    loaded = job()
    assert loaded.result is not None
    done = DoneEvent(
        finish_reason=loaded.result.finish_reason or "stop",
        provider="p",
        model="m",
        usage=loaded.usage or Usage(),
        cost=None,
        message=AssistantMessage.model_validate(loaded.result.model_dump()),
    )
    read_off = Answer.of_done(loaded.id, loaded.model, loaded.timings.queued_at, done)
    assert chat_completion(read_off) == chat_completion(Answer.of_job(loaded))


def event(seq: int, kind: str, **fields: Any) -> Event:
    return decode_event(orjson.dumps({"seq": seq, "type": kind, **fields}))


USAGE = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5, "estimated": False}
FALLBACK = {"reason": "down", "next_provider": "b", "next_model": "b-1"}
EVENTS = [
    event(1, "start", provider="a", model="a-1"),
    event(2, "fallback", provider="a", model="a-1", code="provider_unavailable", **FALLBACK),
    event(3, "start", provider="b", model="b-1"),
    event(4, "delta", reasoning="hmm"),
    event(5, "delta", content="Hel"),
    event(6, "delta", content="lo"),
    event(7, "done", finish_reason="stop", provider="b", model="b-1", usage=USAGE, cost=None),
]


def all_chunks(stream: ChunkStream, events: list[Event]) -> list[dict[str, Any]]:
    return [chunk for e in events for chunk in stream.chunks(e)]


def test_events_as_chunks() -> None:
    chunks = all_chunks(ChunkStream(job_id="j", created=5, model="smart"), EVENTS)
    parsed = [ChatCompletionChunk.model_validate(c, strict=True) for c in chunks]
    assert {(c.id, c.created, c.model) for c in parsed} == {("chatcmpl-j", 5, "smart")}
    deltas = [c.choices[0].delta for c in parsed]
    assert [d.role for d in deltas] == ["assistant", None, None, None, None]
    assert [d.content for d in deltas] == ["", None, "Hel", "lo", None]
    assert chunks[1]["choices"][0]["delta"] == {"reasoning_content": "hmm"}
    assert [c.choices[0].finish_reason for c in parsed] == [None] * 4 + ["stop"]
    assert all("usage" not in c for c in chunks)


def test_include_usage_adds_a_last_chunk_without_choices() -> None:
    chunks = all_chunks(ChunkStream("j", 5, "smart", include_usage=True), EVENTS)
    assert [c["usage"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = ChatCompletionChunk.model_validate(chunks[-1], strict=True)
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, 3)


def test_a_failed_job_ends_with_an_error_chunk() -> None:
    stream = ChunkStream("j", 5, "smart")
    failure = event(
        3,
        "error",
        code="stream_interrupted",
        message="the provider dropped",
        retryable=True,
        delivered={"deltas": 1},
    )
    start = event(1, "start", provider="a", model="a-1")
    chunks = all_chunks(stream, [start, event(2, "delta", content="x"), failure])
    assert chunks[-1] == {
        "error": {
            "message": "the provider dropped",
            "type": "server_error",
            "param": None,
            "code": "stream_interrupted",
        }
    }


def test_error_bodies_follow_the_status() -> None:
    assert openai_error_body(Unauthorized("no"))["error"]["type"] == "authentication_error"
    assert openai_error_body(ModelNotFound("gone"))["error"] == {
        "message": "gone",
        "type": "not_found_error",
        "param": None,
        "code": "model_not_found",
    }
    assert openai_error_body(RateLimited("slow"))["error"]["type"] == "rate_limit_error"
    validation = InvalidRequest(
        "bad", details=[{"loc": ["body", "messages", 2, "content"], "msg": "x", "type": "y"}]
    )
    assert openai_status(validation) == 400
    assert openai_error_body(validation)["error"]["param"] == "messages[2].content"
    header = InvalidRequest("bad", details=[{"loc": ["header", "Cache-Control"], "msg": "x"}])
    assert openai_error_body(header)["error"]["param"] == "Cache-Control"
