"""An Anthropic conversation (``system`` and ``messages``) as the gateway's messages.

* ``system``, a string or text blocks, is the first message (its blocks stay separate parts, in
  order, with their cache marks: Claude Code's attribution block stays first). A ``system`` turn
  inside the conversation stays a system message where it is.
* A user turn's ``tool_result`` blocks become ``tool`` messages, first, in order; its other blocks
  follow as one user message. Images and documents a tool returned have no place in a ``tool``
  message, so they follow in that user message, after a line naming the call.
* An assistant turn's ``tool_use`` blocks are its tool calls (``input`` as the arguments' JSON);
  its signed ``thinking`` and ``redacted_thinking`` blocks are its ``reasoning_details``,
  unchanged and in order (``reasoning.text`` with the signature, ``reasoning.encrypted``); the
  thinking text is also its ``reasoning`` (DeepSeek wants that back). An unsigned thinking block
  (one this gateway rendered from another provider's reasoning) is reasoning text only.
* Images are ``image_url`` parts (base64 as a ``data:`` URL), PDFs ``file`` parts, plain-text
  documents text. ``is_error`` on a tool result has no place in the gateway's messages and is not
  carried (Claude Code's error results say so in their text).

Each message keeps the Anthropic path it came from, to name the field when a check refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.anthropic_format.wire import (
    Base64Source,
    Block,
    CacheMark,
    ContentSource,
    DocumentBlock,
    FileSource,
    ImageBlock,
    Message,
    PlainTextSource,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UrlSource,
)
from shared.errors import ContentRefused

THINKING_FORMAT = "anthropic-claude-v1"  # reasoning_details' name for Anthropic's thinking


class UnsupportedContent(ContentRefused):
    """A block the gateway cannot carry to any provider (a file of Anthropic's Files API...)."""

    code = "unsupported_content"


@dataclass(slots=True)
class Conversation:
    """The gateway's messages (as ChatMessage fields) and where each came from."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)

    def add(self, message: dict[str, Any], origin: str) -> None:
        self.messages.append(message)
        self.origins.append(origin)


def conversation(system: str | list[TextBlock] | None, messages: list[Message]) -> Conversation:
    """The whole conversation, system first."""
    out = Conversation()
    if isinstance(system, str) and system:
        out.add({"role": "system", "content": system}, "system")
    elif isinstance(system, list) and system:
        out.add({"role": "system", "content": [_text(block) for block in system]}, "system")
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if message.role == "assistant":
            out.add(_assistant(message, where), where)
        else:
            _user_or_system(out, message, where)
    return out


def _user_or_system(out: Conversation, message: Message, where: str) -> None:
    if isinstance(message.content, str):
        out.add({"role": message.role, "content": message.content}, where)
        return
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(message.content):
        at = f"{where}.content.{j}"
        if isinstance(block, ToolResultBlock) and message.role == "user":
            text, media = _tool_result(block, at)
            out.add({"role": "tool", "tool_call_id": block.tool_use_id, "content": text}, at)
            if media:
                parts += [_text_part(f"(returned by tool call {block.tool_use_id})"), *media]
        else:
            parts += _user_parts(block, at, message.role)
    if parts:
        out.add({"role": message.role, "content": parts}, where)


def _user_parts(block: Block, at: str, role: str) -> list[dict[str, Any]]:
    if isinstance(block, TextBlock):
        return [_text(block)]
    if isinstance(block, ImageBlock):
        return [_image(block, at)]
    if isinstance(block, DocumentBlock):
        return _document(block, at)
    raise UnsupportedContent(
        f"{at}: a {block.type} block cannot be in a {role} turn", details={"param": at}
    )


def _assistant(message: Message, where: str) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": "assistant", "content": message.content}
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for j, block in enumerate(message.content):
        if isinstance(block, TextBlock):
            parts.append(_text(block))
        elif isinstance(block, ToolUseBlock):
            arguments = orjson.dumps(block.input).decode()
            function = {"name": block.name, "arguments": arguments}
            calls.append({"id": block.id, "type": "function", "function": function})
        elif isinstance(block, ThinkingBlock):
            reasoning.append(block.thinking)
            if block.signature:
                signed = {"text": block.thinking, "signature": block.signature}
                details.append(_detail("reasoning.text", len(details), **signed))
        elif isinstance(block, RedactedThinkingBlock):
            details.append(_detail("reasoning.encrypted", len(details), data=block.data))
        else:
            at = f"{where}.content.{j}"
            raise UnsupportedContent(
                f"{at}: an assistant turn holds text, tool_use and thinking blocks, not "
                f"{block.type}",
                details={"param": at},
            )
    turn: dict[str, Any] = {"role": "assistant", "content": parts or ("" if not calls else None)}
    if calls:
        turn["tool_calls"] = calls
    if details:
        turn["reasoning_details"] = details
    if any(reasoning):
        turn["reasoning"] = "".join(reasoning)
    return turn


def _detail(kind: str, index: int, **fields: str) -> dict[str, Any]:
    return {"type": kind, "format": THINKING_FORMAT, "index": index, **fields}


def _tool_result(block: ToolResultBlock, at: str) -> tuple[Any, list[dict[str, Any]]]:
    """The tool message's content, and the media it returned (for the user turn after it)."""
    mark = _mark(block.cache_control)
    content = block.content
    if content is None or isinstance(content, str):
        text = content or ""
        return ([{**_text_part(text), **mark}] if mark else text), []
    texts: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    for k, part in enumerate(content):
        if isinstance(part, TextBlock):
            texts.append(_text(part))
        elif isinstance(part, ImageBlock):
            media.append(_image(part, f"{at}.content.{k}"))
        else:
            parts = _document(part, f"{at}.content.{k}")
            texts += [p for p in parts if p["type"] == "text"]
            media += [p for p in parts if p["type"] != "text"]
    if mark:  # the API counts the breakpoint on the result block: the last part carries it
        texts = [*texts[:-1], {**(texts[-1] if texts else _text_part("")), **mark}]
    return texts or "", media  # a result of media alone says nothing in text


def _text(block: TextBlock) -> dict[str, Any]:
    return {**_text_part(block.text), **_mark(block.cache_control)}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _mark(mark: CacheMark | None) -> dict[str, Any]:
    if mark is None:
        return {}
    return {"cache_control": {"type": "ephemeral", **({"ttl": mark.ttl} if mark.ttl else {})}}


def _image(block: ImageBlock, at: str) -> dict[str, Any]:
    source = block.source
    if isinstance(source, FileSource):
        raise _file_id(f"{at}.source")
    url = source.url if isinstance(source, UrlSource) else _data_url(source)
    return {"type": "image_url", "image_url": {"url": url}, **_mark(block.cache_control)}


def _document(block: DocumentBlock, at: str) -> list[dict[str, Any]]:
    source, mark = block.source, _mark(block.cache_control)
    if isinstance(source, FileSource):
        raise _file_id(f"{at}.source")
    if isinstance(source, PlainTextSource):
        title = f"{block.title}\n\n" if block.title else ""
        return [{**_text_part(title + source.data), **mark}]
    if isinstance(source, ContentSource):
        inner = source.content
        if isinstance(inner, str):
            return [{**_text_part(inner), **mark}]
        parts = [_text(p) if isinstance(p, TextBlock) else _image(p, at) for p in inner]
        return [*parts[:-1], {**parts[-1], **mark}] if parts and mark else parts
    file_data = source.url if isinstance(source, UrlSource) else _data_url(source)
    file: dict[str, Any] = {"file_data": file_data}
    if block.title:
        file["filename"] = block.title
    return [{"type": "file", "file": file, **mark}]


def _data_url(source: Base64Source) -> str:
    return f"data:{source.media_type};base64,{source.data}"


def _file_id(at: str) -> UnsupportedContent:
    return UnsupportedContent(
        f"{at}: a file_id names a file in Anthropic's Files API, which this gateway does not "
        "hold; send the file as base64 or a URL",
        details={"param": at},
    )
