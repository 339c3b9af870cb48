"""The conversation in Anthropic's form (wire-tools §4.2, §4.4-4.6): ``system`` lifted to the top
level, content parts as blocks, tool calls as ``tool_use`` and tool answers as ``tool_result``.

The API's rules, which an OpenAI-shaped history breaks unless translated:

* roles alternate: adjacent same-role messages become one turn; consecutive ``tool`` messages
  become one user turn whose ``tool_result`` blocks come first (any user text after them);
* ``tool_use.id`` matches ``^[a-zA-Z0-9_-]+$``: other ids are rewritten deterministically, and
  the ``tool_use_id`` of their results the same way;
* ``tool_use.input`` is an object: unparseable or empty ``arguments`` go as ``{}``;
* text blocks are never empty (an assistant tool-call turn's ``content: ""`` is dropped);
* the signed ``thinking`` and ``redacted_thinking`` blocks of an assistant turn (carried in its
  ``reasoning_details``) go back first in the turn, unchanged and in order. Details of another
  provider's format (``openai-responses-v1``, ``unknown``...) are not Anthropic's to read and are
  left out.

A ``cache_control`` mark stays on the block it marked; a tool message's marks go on its
``tool_result`` block (where the API counts the breakpoint).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.chat import ChatMessage
from shared.content import (
    AudioPart,
    ContentPart,
    FilePart,
    ImagePart,
    PromptCacheMark,
    ReasoningDetail,
    TextPart,
    ToolCall,
)
from shared.errors import ProviderRejected

SYSTEM_ROLES = ("system", "developer")
THINKING_FORMAT = "anthropic-claude-v1"  # reasoning_details' name for Anthropic's thinking
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_NOT_ID = re.compile(r"[^a-zA-Z0-9_-]")
# Where each block goes in its turn: thinking first (the API checks it), results first in a
# user turn, calls after the assistant's text.
_ORDER = {"thinking": 0, "redacted_thinking": 0, "tool_result": 1, "tool_use": 3}
_OTHER = 2

Block = dict[str, Any]


def tool_use_id(call_id: str) -> str:
    """``call_id`` as Anthropic takes it: unchanged when it already fits, else its legal
    characters plus a digest of the whole (so ``a:1`` and ``a_1`` stay apart)."""
    if _TOOL_ID.match(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:12]
    return f"{_NOT_ID.sub('_', call_id)}_{digest}"


def mark(cache_mark: PromptCacheMark | None) -> Block:
    """The ``cache_control`` field of a block, as it came (with its ttl), or nothing."""
    if cache_mark is None:
        return {}
    return {"cache_control": cache_mark.model_dump(exclude_none=True)}


@dataclass(slots=True)
class _Turn:
    role: str
    blocks: list[Block] = field(default_factory=list)

    def content(self) -> str | list[Block]:
        """One unmarked text block goes as a plain string, as clients usually send it."""
        ordered = sorted(self.blocks, key=lambda b: _ORDER.get(b["type"], _OTHER))
        only = ordered[0] if len(ordered) == 1 else {}
        if only.get("type") == "text" and "cache_control" not in only:
            text: str = only["text"]
            return text
        return ordered


class MessagesTranslation:
    """The ``system`` field and ``messages`` of one request; ``provider`` names refusals."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def system(self, messages: list[ChatMessage], instruction: str | None) -> str | list[Block]:
        """The system and developer messages (and the gateway's own ``instruction``, last):
        one string, or text blocks when a part carries a cache mark; empty when none."""
        parts = [p for m in messages if m.role in SYSTEM_ROLES for p in m.parts]
        texts = [p for p in parts if isinstance(p, TextPart) and p.text]
        if instruction is not None:
            texts.append(TextPart(text=instruction))
        if any(p.cache_control is not None for p in texts):
            return [{"type": "text", "text": p.text, **mark(p.cache_control)} for p in texts]
        joined = [m.text for m in messages if m.role in SYSTEM_ROLES and m.text]
        return "\n\n".join([*joined, *([instruction] if instruction else [])])

    def messages(self, messages: list[ChatMessage]) -> list[Block]:
        """The user and assistant turns, alternating, without empty ones."""
        turns: list[_Turn] = []
        for message in messages:
            if message.role in SYSTEM_ROLES:
                continue
            role = "assistant" if message.role == "assistant" else "user"
            blocks = self._blocks(message)
            if not blocks:
                continue
            if turns and turns[-1].role == role:
                turns[-1].blocks += blocks
            else:
                turns.append(_Turn(role, blocks))
        return [{"role": turn.role, "content": turn.content()} for turn in turns]

    def _blocks(self, message: ChatMessage) -> list[Block]:
        if message.role == "tool":
            return [self._tool_result(message)]
        blocks: list[Block] = []
        if message.role == "assistant":
            blocks += thinking_blocks(message.reasoning_details or [])
        blocks += [b for part in message.parts if (b := self._part(part)) is not None]
        if message.role == "assistant":
            blocks += [_tool_use(call) for call in message.tool_calls or ()]
        return blocks

    def _tool_result(self, message: ChatMessage) -> Block:
        assert message.tool_call_id is not None  # ChatMessage requires it of a tool message
        block: Block = {"type": "tool_result", "tool_use_id": tool_use_id(message.tool_call_id)}
        # A tool message holds text only (ChatMessage allows media in user messages alone).
        texts = [p for p in message.parts if isinstance(p, TextPart)]
        marks = [p.cache_control for p in texts if p.cache_control is not None]
        if isinstance(message.content, str):
            if message.content:
                block["content"] = message.content
        elif any(p.text for p in texts):
            block["content"] = [{"type": "text", "text": p.text} for p in texts if p.text]
        return block | mark(marks[-1] if marks else None)

    def _part(self, part: ContentPart) -> Block | None:
        if isinstance(part, TextPart):
            if not part.text:
                return None
            return {"type": "text", "text": part.text, **mark(part.cache_control)}
        if isinstance(part, ImagePart):
            inline = part.image_url.inline
            source: Block = (
                {"type": "url", "url": part.image_url.url}
                if inline is None
                else {"type": "base64", "media_type": inline.media_type, "data": inline.data}
            )
            return {"type": "image", "source": source, **mark(part.cache_control)}
        if isinstance(part, FilePart):
            return self._document(part)
        assert isinstance(part, AudioPart)
        raise ProviderRejected(
            f"{self.provider}: Anthropic takes no audio input (an input_audio part)",
            provider=self.provider,
        )

    def _document(self, part: FilePart) -> Block:
        file = part.file
        if file.file_data is None:
            raise ProviderRejected(
                f"{self.provider}: a file_id names a file in another provider's store; send the "
                "PDF as file_data (a data: or https URL) for Anthropic",
                provider=self.provider,
            )
        inline = file.inline
        source: Block = (
            {"type": "url", "url": file.file_data}
            if inline is None
            else {"type": "base64", "media_type": inline.media_type, "data": inline.data}
        )
        title = {"title": file.filename} if file.filename else {}
        return {"type": "document", "source": source, **title, **mark(part.cache_control)}


def thinking_blocks(details: list[ReasoningDetail]) -> list[Block]:
    """An assistant turn's Anthropic reasoning, as the API sent it: signed ``thinking`` (its
    text possibly empty) and ``redacted_thinking``, in order. A missing signature stays missing,
    so that the API says what is wrong rather than the gateway guessing."""
    blocks: list[Block] = []
    for detail in details:
        if detail.format not in (None, THINKING_FORMAT):
            continue  # another provider's reasoning: meaningless (and refused) here
        if detail.type == "reasoning.text":
            block: Block = {"type": "thinking", "thinking": detail.text or ""}
            if detail.signature is not None:
                block["signature"] = detail.signature
            blocks.append(block)
        elif detail.type == "reasoning.encrypted" and detail.data is not None:
            blocks.append({"type": "redacted_thinking", "data": detail.data})
    return blocks


def _tool_use(call: ToolCall) -> Block:
    return {
        "type": "tool_use",
        "id": tool_use_id(call.id),
        "name": call.function.name,
        "input": _arguments(call.function.arguments),
    }


def _arguments(arguments: str) -> dict[str, Any]:
    """The arguments as the object ``input`` must be; ``{}`` when they are not one."""
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
