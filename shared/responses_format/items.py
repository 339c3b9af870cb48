"""Responses API ``input`` items to the gateway's messages.

A user, system or developer ``message`` is one message; its parts map one to one
(``input_text`` to text, ``input_image`` to an image URL, ``input_file`` to a file). What the
assistant said or did is gathered into one assistant turn until the next message or tool
result: its ``message`` items (``output_text`` parts), ``function_call`` and ``custom_tool_call``
items (the latter as a call of the function a custom tool became, see ``tools``), and
``reasoning`` items (their text, and what their ``encrypted_content`` carried back).
``function_call_output`` and ``custom_tool_call_output`` are ``tool`` messages.

Items are echoed from answers, so fields that say nothing to a provider are ignored (``id``,
``status``, ``annotations``, ``logprobs``, ``phase``...). ``item_reference`` and the items of
hosted tools are refused: nothing here runs those tools or keeps items by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.content import ReasoningDetail
from shared.openai_format import UnsupportedParameter
from shared.openai_format.errors import invalid
from shared.responses_format.reasoning import decode_reasoning
from shared.responses_format.tools import CUSTOM_INPUT

_ASSISTANT_SIDE = ("function_call", "custom_tool_call", "reasoning")
_TOOL_RESULTS = ("function_call_output", "custom_tool_call_output")
_TEXT_PARTS = ("input_text", "output_text")


@dataclass(frozen=True, slots=True)
class InputMessage:
    """A message built from the input, and where it came from (``input[3]``). ``whole``: it is
    one item whose fields are the message's, so a field's error may name the item's field."""

    fields: dict[str, Any]
    origin: str
    whole: bool = False


@dataclass(slots=True)
class _AssistantTurn:
    origin: str
    texts: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    details: list[ReasoningDetail] = field(default_factory=list)

    def message(self) -> InputMessage | None:
        """The turn as one assistant message; None when it said and called nothing."""
        text = "\n\n".join(self.texts)
        if not text and not self.calls:
            return None
        fields: dict[str, Any] = {"role": "assistant", "content": text or None}
        if not self.calls:
            fields["content"] = text
        else:
            fields["tool_calls"] = self.calls
        if self.reasoning:
            fields["reasoning"] = "\n\n".join(self.reasoning)
        if self.details:
            fields["reasoning_details"] = [d.model_dump(exclude_none=True) for d in self.details]
        return InputMessage(fields, self.origin)


def messages_from_input(raw: object) -> list[InputMessage]:
    """The conversation the input holds; raises InvalidRequest naming the item at fault."""
    if isinstance(raw, str):
        return [InputMessage({"role": "user", "content": raw}, "input", whole=True)]
    if not isinstance(raw, list) or not raw:
        raise invalid("input is a string or a non-empty array of items", "input")
    messages: list[InputMessage | None] = []
    turn: _AssistantTurn | None = None
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"{where} must be an object", where)
        kind = item.get("type", "message")
        if kind in _ASSISTANT_SIDE or (kind == "message" and item.get("role") == "assistant"):
            turn = turn or _AssistantTurn(where)
            _add_to_turn(turn, kind, item, where)
            continue
        if turn is not None:
            messages.append(turn.message())
            turn = None
        if kind == "message":
            messages.append(InputMessage(_message(item, where), where, whole=True))
        elif kind in _TOOL_RESULTS:
            messages.append(InputMessage(_tool_result(item, where), where))
        else:
            why = (
                "items are not kept by id here: send the item itself"
                if kind == "item_reference"
                else "this gateway runs no hosted tools"
            )
            raise UnsupportedParameter(
                f"{where}: items of type {kind!r} are not supported ({why})",
                details={"param": f"{where}.type"},
            )
    if turn is not None:
        messages.append(turn.message())
    return [message for message in messages if message is not None]


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role, content = item.get("role"), item.get("content")
    if role not in ("user", "system", "developer"):
        raise invalid(f"{where}.role is user, assistant, system or developer", f"{where}.role")
    if isinstance(content, list):
        content = [_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
        content = [part for part in content if part is not None]
    return {"role": role, "content": content}


def _add_to_turn(turn: _AssistantTurn, kind: str, item: dict[str, Any], where: str) -> None:
    if kind == "message":
        turn.texts.append(_assistant_text(item.get("content"), where))
    elif kind == "function_call":
        arguments = item.get("arguments", "")
        turn.calls.append(_call(item, where, arguments))
    elif kind == "custom_tool_call":
        text = item.get("input", "")
        if not isinstance(text, str):
            raise invalid(f"{where}.input must be a string", f"{where}.input")
        turn.calls.append(_call(item, where, orjson.dumps({CUSTOM_INPUT: text}).decode()))
    else:
        _add_reasoning(turn, item, where)


def _call(item: dict[str, Any], where: str, arguments: object) -> dict[str, Any]:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise invalid(f"{where}.call_id is required", f"{where}.call_id")
    function = {"name": item.get("name"), "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}


def _add_reasoning(turn: _AssistantTurn, item: dict[str, Any], where: str) -> None:
    blob = item.get("encrypted_content")
    carried = None
    if isinstance(blob, str):
        try:
            carried = decode_reasoning(blob)
        except ValueError as exc:
            raise invalid(f"{where}: {exc}", f"{where}.encrypted_content") from exc
    if carried is not None:
        if carried.text:
            turn.reasoning.append(carried.text)
        turn.details.extend(carried.details)
        return
    text = _texts(item.get("content"), "reasoning_text") or _texts(
        item.get("summary"), "summary_text"
    )
    if text:
        turn.reasoning.append(text)


def _texts(parts: object, kind: str) -> str:
    if not isinstance(parts, list):
        return ""
    found = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == kind]
    return "\n\n".join(text for text in found if isinstance(text, str) and text)


def _assistant_text(content: object, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid(f"{where}.content is a string or an array of parts", f"{where}.content")
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "refusal":
            continue
        text = part.get("text") if isinstance(part, dict) and kind in _TEXT_PARTS else None
        if not isinstance(text, str):
            raise invalid(
                f"{where}.content[{j}]: an assistant message holds output_text parts",
                f"{where}.content[{j}]",
            )
        texts.append(text)
    return "".join(texts)


def _tool_result(item: dict[str, Any], where: str) -> dict[str, Any]:
    call_id, output = item.get("call_id"), item.get("output")
    if not isinstance(call_id, str) or not call_id:
        raise invalid(f"{where}.call_id is required", f"{where}.call_id")
    if isinstance(output, list):
        output = [_part(part, f"{where}.output[{j}]") for j, part in enumerate(output)]
        output = [part for part in output if part is not None]
    elif not isinstance(output, str):
        raise invalid(f"{where}.output is a string or an array of parts", f"{where}.output")
    return {"role": "tool", "tool_call_id": call_id, "content": output}


def _part(raw: object, where: str) -> dict[str, Any] | None:
    """One content part in the gateway's form; None for one that says nothing (a refusal)."""
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object", where)
    kind = raw.get("type")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": raw.get("text")}
    if kind == "refusal":
        return None
    if kind == "input_image":
        return _image(raw, where)
    if kind == "input_file":
        return _file(raw, where)
    raise invalid(
        f"{where}.type is input_text, input_image or input_file (not {kind!r})", f"{where}.type"
    )


def _image(raw: dict[str, Any], where: str) -> dict[str, Any]:
    if raw.get("file_id") is not None:
        raise UnsupportedParameter(
            f"{where}: images by file_id are not supported; send image_url (http(s) or data:)",
            details={"param": f"{where}.file_id"},
        )
    detail = raw.get("detail")
    # "original" (full resolution) is the most a Chat Completions upstream can be asked for.
    image: dict[str, Any] = {"url": raw.get("image_url")}
    if detail is not None:
        image["detail"] = "high" if detail == "original" else detail
    return {"type": "image_url", "image_url": image}


def _file(raw: dict[str, Any], where: str) -> dict[str, Any]:
    data, url = raw.get("file_data"), raw.get("file_url")
    if data is not None and url is not None:
        raise invalid(f"{where}: give file_data or file_url, not both", where)
    file = {
        "filename": raw.get("filename"),
        "file_data": data if data is not None else url,
        "file_id": raw.get("file_id"),
    }
    return {"type": "file", "file": {k: v for k, v in file.items() if v is not None}}
