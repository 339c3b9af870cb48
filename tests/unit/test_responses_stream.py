"""The Responses stream rendered from a job's events, checked by the official SDK's own stream
accumulator (``ResponseStreamState``) and by the rules of wire-tools §8 F.19, for any order
of reasoning, text and interleaved tool-call fragments."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from openai import omit
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.responses import ParsedResponse, ResponseStreamEvent
from pydantic import TypeAdapter

from shared.content import AssistantMessage, FunctionCall, ReasoningDetail, ToolCall
from shared.errors import ServiceUnavailable
from shared.events import DeltaEvent, DoneEvent, ErrorEvent, EventBody, ToolCallDelta, numbered
from shared.responses_format import ResponseEcho, ResponseEvents, ResponseShell
from shared.responses_format.reasoning import decode_reasoning
from shared.usage import Usage

EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
USAGE = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, cached_tokens=4)


def shell(*, custom: frozenset[str] = frozenset(), include: bool = False) -> ResponseShell:
    return ResponseShell(
        id="resp_job1",
        created_at=1_700_000_000,
        model="fake",
        echo=ResponseEcho(),
        custom_tools=custom,
        include_reasoning=include,
    )


def render(bodies: list[EventBody], rendering: ResponseEvents) -> list[dict[str, Any]]:
    events = rendering.opening()
    for seq, body in enumerate(bodies, start=1):
        events += rendering.events(numbered(body, seq))
    return events


def accumulated(events: list[dict[str, Any]]) -> ParsedResponse[object]:
    """What the SDK's ``responses.stream()`` makes of these events (it raises on a broken
    stream: a delta before its item, an item never done, a changed response id...)."""
    state: ResponseStreamState[object] = ResponseStreamState(input_tools=omit, text_format=omit)
    final = None
    for event in events:
        for handled in state.handle_event(EVENT.validate_python(event)):
            if handled.type == "response.completed":
                final = handled.response
    assert final is not None, "no response.completed"
    return final


def check_order(events: list[dict[str, Any]]) -> None:
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    open_items: set[int] = set()
    done_items: set[int] = set()
    for event in events:
        index = event.get("output_index")
        if event["type"] == "response.output_item.added":
            open_items.add(index)  # type: ignore[arg-type]
        elif event["type"] == "response.output_item.done":
            open_items.remove(index)  # type: ignore[arg-type]
            done_items.add(index)  # type: ignore[arg-type]
        elif index is not None:
            assert index in open_items, f"{event['type']} outside its item"
    assert not open_items


def answer_of(bodies: list[EventBody]) -> AssistantMessage:
    """The whole answer a worker would put in ``done`` for these deltas."""
    content, reasoning = "", ""
    calls: dict[int, list[str]] = {}
    for body in bodies:
        assert isinstance(body, DeltaEvent)
        content += body.content
        reasoning += body.reasoning
        for fragment in body.tool_calls:
            call = calls.setdefault(fragment.index, [fragment.id or "", fragment.name or "", ""])
            call[2] += fragment.arguments
    tool_calls = [
        ToolCall(id=i, function=FunctionCall(name=n, arguments=a))
        for _, (i, n, a) in sorted(calls.items())
    ]
    return AssistantMessage(content=content, reasoning=reasoning or None, tool_calls=tool_calls)


def done(answer: AssistantMessage, reason: str = "stop") -> DoneEvent:
    return DoneEvent(
        finish_reason=reason, provider="p", model="m", usage=USAGE, cost=None, message=answer
    )


@st.composite
def delta_sequences(draw: st.DrawFn) -> list[EventBody]:
    """Reasoning, text and the fragments of up to three calls, in any order a provider may
    send them (a call's first fragment carries its id and name)."""
    calls = draw(st.integers(0, 3))
    pieces: list[tuple[str, int]] = draw(
        st.lists(
            st.sampled_from(
                [("reasoning", -1), ("content", -1)] + [("call", i) for i in range(calls)]
            ),
            max_size=12,
        )
    )
    pieces += [("call", i) for i in range(calls)]  # every call has a fragment
    # Calls are numbered in the order they begin, as the worker's events number them.
    order: dict[int, int] = {}
    for kind, index in pieces:
        if kind == "call":
            order.setdefault(index, len(order))
    pieces = [(kind, order.get(index, index)) for kind, index in pieces]
    started: set[int] = set()
    bodies: list[EventBody] = []
    for n, (kind, index) in enumerate(pieces):
        if kind == "reasoning":
            bodies.append(DeltaEvent(reasoning=f"r{n} "))
        elif kind == "content":
            bodies.append(DeltaEvent(content=f"t{n} "))
        else:
            first = index not in started
            started.add(index)
            fragment = ToolCallDelta(
                index=index,
                id=f"call_{index}" if first else None,
                name=f"tool_{index}" if first else None,
                arguments=f'{{"n": {n}}}' if first else "",
            )
            bodies.append(DeltaEvent(tool_calls=(fragment,)))
    return bodies


@settings(max_examples=150, deadline=None)
@given(delta_sequences(), st.booleans())
def test_any_delta_order_streams_what_the_sdk_accumulates(
    deltas: list[EventBody], include: bool
) -> None:
    answer = answer_of(deltas)
    bodies = [*deltas, done(answer, "tool_calls" if answer.tool_calls else "stop")]
    events = render(bodies, ResponseEvents(shell(include=include)))
    check_order(events)
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    final = accumulated(events)
    assert final.status == "completed"
    assert final.output_text == answer.content
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        (c.id, c.function.name, c.function.arguments) for c in answer.tool_calls
    ]
    again = render(bodies, ResponseEvents(shell(include=include)))
    strip = [{k: v for k, v in e.items() if k != "response"} for e in events]
    assert strip == [{k: v for k, v in e.items() if k != "response"} for e in again]  # replays


def test_an_answer_that_came_whole_still_has_its_items() -> None:
    answer = AssistantMessage(
        content="hello",
        tool_calls=[ToolCall(id="call_9", function=FunctionCall(name="f", arguments="{}"))],
    )
    events = render([done(answer, "tool_calls")], ResponseEvents(shell()))
    check_order(events)
    final = accumulated(events)
    assert final.output_text == "hello"
    assert [item.type for item in final.output] == ["message", "function_call"]


def test_a_custom_tool_call_is_shown_with_its_input() -> None:
    arguments = json.dumps({"input": "*** Begin Patch\n*** End Patch\n"})
    deltas: list[EventBody] = [
        DeltaEvent(tool_calls=(ToolCallDelta(index=0, id="call_1", name="apply_patch"),)),
        DeltaEvent(tool_calls=(ToolCallDelta(index=0, arguments=arguments[:9]),)),
        DeltaEvent(tool_calls=(ToolCallDelta(index=0, arguments=arguments[9:]),)),
    ]
    events = render(
        [*deltas, done(answer_of(deltas), "tool_calls")],
        ResponseEvents(shell(custom=frozenset({"apply_patch"}))),
    )
    check_order(events)
    types = [e["type"] for e in events]
    assert "response.function_call_arguments.delta" not in types  # JSON-wrapped: shown whole
    (whole,) = [e for e in events if e["type"] == "response.custom_tool_call_input.done"]
    assert whole["input"] == "*** Begin Patch\n*** End Patch\n"
    item = accumulated(events).output[0]
    assert item.type == "custom_tool_call" and item.input == whole["input"]


def test_reasoning_ends_last_when_it_must_carry_signatures_back() -> None:
    details = [ReasoningDetail(type="reasoning.text", text="r1", signature="sig-1")]
    answer = AssistantMessage(content="t1", reasoning="r1", reasoning_details=details)
    bodies: list[EventBody] = [DeltaEvent(reasoning="r1"), DeltaEvent(content="t1"), done(answer)]
    events = render(bodies, ResponseEvents(shell(include=True)))
    check_order(events)
    (reasoning,) = [
        e["item"]
        for e in events
        if e["type"] == "response.output_item.done" and e["output_index"] == 0
    ]
    carried = decode_reasoning(reasoning["encrypted_content"])
    assert carried is not None and carried.details == details and carried.text == "r1"
    assert reasoning["content"] == [{"type": "reasoning_text", "text": "r1"}]


def test_a_cut_answer_is_incomplete() -> None:
    bodies: list[EventBody] = [
        DeltaEvent(content="t1"),
        done(AssistantMessage(content="t1"), "length"),
    ]
    events = render(bodies, ResponseEvents(shell()))
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_a_failure_after_the_first_token_is_response_failed_with_what_came() -> None:
    rendering = ResponseEvents(shell())
    bodies: list[EventBody] = [
        DeltaEvent(content="t1 "),
        ErrorEvent(code="rate_limited", message="slow down; try again in 2s"),
    ]
    events = render(bodies, rendering)
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"] == {
        "code": "rate_limit_exceeded",
        "message": "slow down; try again in 2s",
    }
    assert failed["response"]["output"][0]["status"] == "incomplete"
    assert rendering.outcome is not None and rendering.outcome.status == "failed"


def test_a_lost_read_is_an_error_event() -> None:
    rendering = ResponseEvents(shell())
    rendering.opening()
    (event,) = rendering.interrupted(ServiceUnavailable("the gateway lost Redis"))
    assert EVENT.validate_python(event).type == "error"
    assert event["sequence_number"] == 2


def test_usage_has_all_five_counts() -> None:
    events = render([done(AssistantMessage(content="x"))], ResponseEvents(shell()))
    assert events[-1]["response"]["usage"] == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }
