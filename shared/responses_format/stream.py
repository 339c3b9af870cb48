"""A job's events as the Responses API's stream events, numbered from 0.

The order OpenAI streams: ``response.created`` and ``response.in_progress``; for each output
item ``response.output_item.added``, its deltas (a message's ``content_part.added`` first, then
``output_text.delta``; ``reasoning_text.delta``; ``function_call_arguments.delta``), its ends
(``output_text.done`` and ``content_part.done``; ``reasoning_text.done``;
``function_call_arguments.done``, or for a custom tool ``custom_tool_call_input.delta`` and
``.done`` with the whole input), then ``response.output_item.done``; last
``response.completed`` (``response.incomplete`` when the answer was cut short) with the whole
response, or ``response.failed``. No delta comes before its item's ``added``.

Items are opened as the provider's deltas arrive. A text or reasoning item ends when another
kind of item begins; tool calls stay open until the end, because a provider may interleave the
fragments of parallel calls; and when ``encrypted_content`` was asked for, the reasoning item
also ends last, since what it must carry back (signatures) comes whole with the last event.
Whatever the deltas did not show (an answer that came whole) is added at the end, so the items
always match the answer. The numbering depends only on the job's events, so a replay numbers
every event as the live stream did (what ``starting_after`` relies on).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from shared.content import AssistantMessage, FunctionCall, ToolCall
from shared.errors import GatewayError
from shared.events import DeltaEvent, DoneEvent, ErrorEvent, Event, ToolCallDelta
from shared.responses_format.output import (
    call_item,
    custom_input,
    message_item,
    output_text,
    reasoning_item,
    response_object,
)
from shared.responses_format.records import ResponseOutcome, ResponseShell, ResponseStatus


class ItemKind(Enum):
    REASONING = "rs"
    MESSAGE = "msg"
    CALL = "fc"


@dataclass(slots=True)
class _Item:
    kind: ItemKind
    output_index: int
    item_id: str
    pieces: list[str] = field(default_factory=list)
    call_index: int = -1
    call_id: str = ""
    name: str = ""
    custom: bool = False
    final: dict[str, Any] | None = None  # the item as its output_item.done showed it

    @property
    def text(self) -> str:
        return "".join(self.pieces)


class ResponseEvents:
    """The stream events of one response (keep one per stream: it has state). ``outcome`` is
    set once the job's last event has been rendered."""

    def __init__(self, shell: ResponseShell) -> None:
        self.shell = shell
        self.outcome: ResponseOutcome | None = None
        self._seq = 0
        self._items: list[_Item] = []
        self._text: _Item | None = None  # the text or reasoning item deltas go to
        self._calls: dict[int, _Item] = {}

    def opening(self) -> list[dict[str, Any]]:
        """``response.created`` and ``response.in_progress``."""
        response = response_object(self.shell, ResponseStatus.IN_PROGRESS, [])
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def events(self, event: Event) -> list[dict[str, Any]]:
        """What one of the job's events adds to the stream (fallback and usage: nothing)."""
        body = event.body
        if isinstance(body, DeltaEvent):
            return self._delta(body)
        if isinstance(body, DoneEvent):
            return self._done(body)
        if isinstance(body, ErrorEvent):
            return self._failed(body)
        return []

    def interrupted(self, error: GatewayError) -> list[dict[str, Any]]:
        """The read failed before the job's end (the gateway lost Redis): an ``error`` event."""
        return [self._event("error", code=error.code, message=error.message, param=None)]

    # --- deltas -------------------------------------------------------------------------------

    def _delta(self, body: DeltaEvent) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if body.reasoning:
            events += self._text_piece(ItemKind.REASONING, body.reasoning)
        if body.content:
            events += self._text_piece(ItemKind.MESSAGE, body.content)
        for fragment in body.tool_calls:
            events += self._fragment(fragment)
        return events

    def _text_piece(self, kind: ItemKind, piece: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        item = self._text
        if item is None or item.kind is not kind:
            events += self._end_text()
            events += self._end(*self._calls.values())  # text after calls
            item = self._open(kind)
            events += self._added(item)
            self._text = item
        item.pieces.append(piece)
        where = {"item_id": item.item_id, "output_index": item.output_index, "content_index": 0}
        if kind is ItemKind.MESSAGE:
            events.append(
                self._event("response.output_text.delta", **where, delta=piece, logprobs=[])
            )
        else:
            events.append(self._event("response.reasoning_text.delta", **where, delta=piece))
        return events

    def _fragment(self, fragment: ToolCallDelta) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        item = self._calls.get(fragment.index)
        if item is None:
            events += self._end_text()
            item = self._open(ItemKind.CALL, call_index=fragment.index)
            item.call_id, item.name = fragment.id or "", fragment.name or ""
            item.custom = item.name in self.shell.custom_tools
            if item.custom:
                item.item_id = self.shell.item_id("ctc", fragment.index)
            self._calls[fragment.index] = item
            events += self._added(item)
        elif item.final is not None:
            return events  # ended early (text came after it); the answer has it whole
        if fragment.arguments:
            item.pieces.append(fragment.arguments)
            if not item.custom:  # a custom tool's input is JSON-wrapped: shown whole at its end
                events.append(
                    self._event(
                        "response.function_call_arguments.delta",
                        item_id=item.item_id,
                        output_index=item.output_index,
                        delta=fragment.arguments,
                    )
                )
        return events

    # --- the end ------------------------------------------------------------------------------

    def _done(self, body: DoneEvent) -> list[dict[str, Any]]:
        answer = body.message or self._streamed_answer()  # jobs of older workers: no message
        events = self._catch_up(answer)
        events += self._end(*(item for item in self._items if item.final is None), answer=answer)
        self.outcome = ResponseOutcome.of_done(
            body.model_copy(update={"message": answer}), time.time()
        )
        response = response_object(self.shell, self.outcome.status, self._output(), self.outcome)
        kind = "response.incomplete" if self.outcome.status is ResponseStatus.INCOMPLETE else None
        return [*events, self._event(kind or "response.completed", response=response)]

    def _catch_up(self, answer: AssistantMessage) -> list[dict[str, Any]]:
        """Items for what the answer holds and no delta showed."""
        events: list[dict[str, Any]] = []
        kinds = {item.kind for item in self._items}
        if answer.reasoning and ItemKind.REASONING not in kinds:
            events += self._text_piece(ItemKind.REASONING, answer.reasoning)
        elif answer.reasoning_details and ItemKind.REASONING not in kinds:
            events += self._end_text()
            item = self._open(ItemKind.REASONING)
            events += self._added(item)
        if answer.content and ItemKind.MESSAGE not in kinds:
            events += self._text_piece(ItemKind.MESSAGE, answer.content)
        for index, call in enumerate(answer.tool_calls):
            if index not in self._calls:
                fragment = ToolCallDelta(
                    index=index,
                    id=call.id,
                    name=call.function.name,
                    arguments=call.function.arguments,
                )
                events += self._fragment(fragment)
        return events

    def _streamed_answer(self) -> AssistantMessage:
        """The answer as the deltas told it."""
        texts = {kind: [i.text for i in self._items if i.kind is kind] for kind in ItemKind}
        calls = [self._whole_call(i, None) for i in self._items if i.kind is ItemKind.CALL]
        return AssistantMessage(
            content="".join(texts[ItemKind.MESSAGE]),
            reasoning="".join(texts[ItemKind.REASONING]) or None,
            tool_calls=calls,
        )

    def _failed(self, body: ErrorEvent) -> list[dict[str, Any]]:
        self.outcome = ResponseOutcome.of_error(body)
        output = [item.final or self._snapshot(item) for item in self._items]
        response = response_object(self.shell, self.outcome.status, output, self.outcome)
        return [self._event("response.failed", response=response)]

    def _output(self) -> list[dict[str, Any]]:
        return [item.final for item in self._items if item.final is not None]

    # --- items --------------------------------------------------------------------------------

    def _open(self, kind: ItemKind, *, call_index: int = -1) -> _Item:
        same = sum(1 for item in self._items if item.kind is kind)
        if kind is ItemKind.CALL:
            item_id = self.shell.item_id("fc", call_index)
        else:  # the first of its kind has the id the stored response gives it
            item_id = self.shell.item_id(kind.value, same or None)
        item = _Item(kind, len(self._items), item_id, call_index=call_index)
        self._items.append(item)
        return item

    def _added(self, item: _Item) -> list[dict[str, Any]]:
        snapshot = self._snapshot(item, status="in_progress")
        events = [
            self._event("response.output_item.added", output_index=item.output_index, item=snapshot)
        ]
        if item.kind is ItemKind.MESSAGE:
            events.append(
                self._event(
                    "response.content_part.added",
                    item_id=item.item_id,
                    output_index=item.output_index,
                    content_index=0,
                    part=output_text(""),
                )
            )
        return events

    def _end_text(self) -> list[dict[str, Any]]:
        item, self._text = self._text, None
        if item is None or (item.kind is ItemKind.REASONING and self.shell.include_reasoning):
            return []
        return self._end(item)

    def _end(self, *items: _Item, answer: AssistantMessage | None = None) -> list[dict[str, Any]]:
        """The closing events of ``items`` (those still open), in output order; ``answer``,
        at the job's end, gives the whole values."""
        events: list[dict[str, Any]] = []
        for item in sorted(items, key=lambda i: i.output_index):
            if item.final is None:
                events += self._close(item, answer)
        return events

    def _close(self, item: _Item, answer: AssistantMessage | None) -> list[dict[str, Any]]:
        where = {"item_id": item.item_id, "output_index": item.output_index}
        events: list[dict[str, Any]] = []
        if item.kind is ItemKind.MESSAGE:
            text = item.text
            events.append(
                self._event(
                    "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
                )
            )
            events.append(
                self._event(
                    "response.content_part.done", **where, content_index=0, part=output_text(text)
                )
            )
            final = {**message_item(self.shell, text), "id": item.item_id}
        elif item.kind is ItemKind.REASONING:
            last = item is max(
                (i for i in self._items if i.kind is ItemKind.REASONING),
                key=lambda i: i.output_index,
            )
            details = answer.reasoning_details if answer is not None and last else []
            events.append(
                self._event(
                    "response.reasoning_text.done", **where, content_index=0, text=item.text
                )
            )
            final = {**reasoning_item(self.shell, item.text, details), "id": item.item_id}
        else:
            call = self._whole_call(item, answer)
            final = call_item(self.shell, item.call_index, call)
            if item.custom:
                text = custom_input(call.function.arguments)
                events.append(
                    self._event("response.custom_tool_call_input.delta", **where, delta=text)
                )
                events.append(
                    self._event("response.custom_tool_call_input.done", **where, input=text)
                )
            else:
                events.append(
                    self._event(
                        "response.function_call_arguments.done",
                        **where,
                        arguments=call.function.arguments,
                        name=call.function.name,
                    )
                )
        item.final = final
        events.append(
            self._event("response.output_item.done", output_index=item.output_index, item=final)
        )
        return events

    def _whole_call(self, item: _Item, answer: AssistantMessage | None) -> ToolCall:
        calls = answer.tool_calls if answer is not None else []
        if 0 <= item.call_index < len(calls):
            return calls[item.call_index]
        function = FunctionCall.model_construct(name=item.name, arguments=item.text)
        return ToolCall.model_construct(id=item.call_id, type="function", function=function)

    def _snapshot(self, item: _Item, status: str = "incomplete") -> dict[str, Any]:
        """The item as far as it has come (``added``, or in a failed response)."""
        if item.kind is ItemKind.MESSAGE:
            snapshot = message_item(self.shell, item.text, status)
        elif item.kind is ItemKind.REASONING:
            snapshot = reasoning_item(self.shell, item.text, status=status)
        else:
            call = self._whole_call(item, None)
            return call_item(self.shell, item.call_index, call, status)
        return {**snapshot, "id": item.item_id}

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event
