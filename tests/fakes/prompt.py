"""Prompt accounting shared by every format: message text, token counts, cacheable blocks.

Tokens are whitespace-separated words, so tests can predict usage by eye. Media parts (images,
files, audio, documents) count a flat `MEDIA_TOKENS` each; a tool definition counts the words of
its JSON (`json.dumps` with default separators, so roughly one word per key and value).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import orjson

MEDIA_TOKENS = 85
MEDIA_TYPES = ("image_url", "input_audio", "file", "image", "document")


def text_of(content: object) -> str:
    """Text of a message `content`: a string, or a list of parts/blocks (OpenAI and Anthropic)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces: list[str] = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    pieces.append(text)
                nested = part.get("content")  # Anthropic tool_result blocks
                if isinstance(nested, (str, list)):
                    pieces.append(text_of(nested))
        return " ".join(pieces)
    return ""


def words(text: str) -> int:
    return len(text.split())


def _json_words(obj: object) -> int:
    return words(json.dumps(obj, ensure_ascii=False))


def part_tokens(part: object) -> int:
    """Tokens of one content part / block (OpenAI part or Anthropic block)."""
    if isinstance(part, str):
        return words(part)
    if not isinstance(part, dict):
        return 0
    kind = part.get("type")
    if kind in MEDIA_TYPES:
        return MEDIA_TOKENS
    if kind == "tool_use":
        return words(str(part.get("name", ""))) + _json_words(part.get("input"))
    if kind == "thinking":
        return words(str(part.get("thinking", "")))
    if kind == "redacted_thinking":
        return 1
    if kind == "tool_result":
        nested = part.get("content")
        if isinstance(nested, list):
            return sum(part_tokens(p) for p in nested)
        return words(nested) if isinstance(nested, str) else 0
    text = part.get("text")
    return words(text) if isinstance(text, str) else 0


@dataclass(frozen=True)
class PromptBlock:
    """One cacheable unit of the prompt, in the order providers process them."""

    path: str  # Anthropic-style location: tools.0, system.1, messages.2.content.0
    tokens: int
    cache_control: object
    ends_message: bool  # a boundary for automatic (marker-less) prefix caching
    digest: bytes  # hash of everything up to and including this block


def _without_marker(obj: object) -> object:
    if isinstance(obj, dict) and "cache_control" in obj:
        return {k: v for k, v in obj.items() if k != "cache_control"}
    return obj


def _message_parts(message: dict[str, Any]) -> list[tuple[object, int]]:
    """(part, tokens) for every part of an OpenAI- or Anthropic-shaped message."""
    content = message.get("content")
    parts: list[tuple[object, int]] = []
    if isinstance(content, str):
        parts.append((content, words(content)))
    elif isinstance(content, list):
        parts += [(p, part_tokens(p)) for p in content]
    for call in message.get("tool_calls") or []:  # OpenAI assistant tool calls
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            name, args = function.get("name"), function.get("arguments")
            tokens = words(name if isinstance(name, str) else "")
            tokens += words(args) if isinstance(args, str) else _json_words(args)
            parts.append((call, tokens))
    return parts


def prompt_blocks(body: dict[str, Any], seed: str, *, with_system: bool) -> list[PromptBlock]:
    """Tools, then system (Anthropic's top-level field), then message parts; each block's digest
    covers its whole prefix, so equal digests mean equal prefixes."""
    running = hashlib.sha256(seed.encode())
    blocks: list[PromptBlock] = []

    def add(path: str, obj: object, tokens: int, ends: bool) -> None:
        running.update(orjson.dumps(_without_marker(obj), option=orjson.OPT_SORT_KEYS))
        marker = obj.get("cache_control") if isinstance(obj, dict) else None
        blocks.append(PromptBlock(path, tokens, marker, ends, running.copy().digest()))

    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        add(f"tools.{i}", tool, _json_words(tool), True)
    system = body.get("system") if with_system else None
    if isinstance(system, str) and system:
        add("system.0", system, words(system), True)
    elif isinstance(system, list):
        for i, block in enumerate(system):
            add(f"system.{i}", block, part_tokens(block), i == len(system) - 1)
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            continue
        running.update(f"role:{message.get('role')}".encode())
        parts = _message_parts(message)
        if not parts:  # e.g. an assistant message with content null: still a boundary
            add(f"messages.{i}", {"role": message.get("role")}, 0, True)
        for j, (part, tokens) in enumerate(parts):
            add(f"messages.{i}.content.{j}", part, tokens, j == len(parts) - 1)
    return blocks


def count_prompt_tokens(body: dict[str, Any], *, with_system: bool) -> int:
    return sum(block.tokens for block in prompt_blocks(body, "", with_system=with_system))
