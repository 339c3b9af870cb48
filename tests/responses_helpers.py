"""What the tests of the Responses API share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openai.types.responses import (
    FunctionToolParam,
    ResponseFunctionToolCall,
    ResponseStreamEvent,
)
from openai.types.responses.response_input_item_param import FunctionCallOutput

WEATHER_TOOL: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def function_calls(output: Iterable[Any]) -> list[ResponseFunctionToolCall]:
    return [item for item in output if isinstance(item, ResponseFunctionToolCall)]


def call_output(call: ResponseFunctionToolCall, text: str) -> FunctionCallOutput:
    return {"type": "function_call_output", "call_id": call.call_id, "output": text}


def check_stream_order(events: list[ResponseStreamEvent]) -> None:
    """What every Responses stream must hold (wire-tools §8 F.19): sequence numbers from 0 with
    no gap, created then in_progress first, one response id, every delta after its item's
    added and before its done, every item added and done, one terminal event, last."""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events[:2]] == ["response.created", "response.in_progress"]
    terminal = ("response.completed", "response.incomplete", "response.failed")
    assert events[-1].type in terminal
    assert [e.type for e in events].count(events[-1].type) == 1
    ids = {e.response.id for e in events if hasattr(e, "response")}
    assert len(ids) == 1
    added: set[int] = set()
    done: set[int] = set()
    for event in events:
        index = getattr(event, "output_index", None)
        if event.type == "response.output_item.added":
            assert event.output_index not in added
            added.add(event.output_index)
        elif event.type == "response.output_item.done":
            assert event.output_index in added and event.output_index not in done
            done.add(event.output_index)
        elif index is not None:
            assert index in added and index not in done, f"{event.type} outside its item"
    if events[-1].type != "response.failed":
        assert added == done
