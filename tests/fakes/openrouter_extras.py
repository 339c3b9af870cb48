"""OpenRouter specifics beyond plain chat: `reasoning_details` (streamed pieces, and the echo an
Anthropic model needs back), file-parser `annotations`, and checks OpenRouter relays from the
model's provider."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import anthropic_texts
from .signing import redacted_data, sign_thinking, verify_redacted, verify_thinking
from .wire import Generation, Problem, request_id_like

SIGNED_FORMAT = "anthropic-claude-v1"


def is_anthropic(model: str) -> bool:
    return model.startswith("anthropic/")


def detail_format(model: str) -> str:
    return SIGNED_FORMAT if is_anthropic(model) else "unknown"


def streamed_details(gen: Generation) -> list[dict[str, Any]]:
    """One `reasoning_details` item per reasoning piece (type, format and index repeated on each,
    the trap that breaks naive accumulators), then the signature (signed models only), then an
    encrypted item when the scenario asks for redacted reasoning."""
    fmt = detail_format(gen.model)
    items = [
        {"type": "reasoning.text", "text": r, "format": fmt, "index": 0} for r in gen.reasoning
    ]
    if gen.reasoning and is_anthropic(gen.model):
        signature = sign_thinking(gen.reasoning_text)
        items.append(
            {
                "type": "reasoning.text",
                "text": "",
                "signature": signature,
                "format": fmt,
                "index": 0,
            }
        )
    if gen.scenario.redacted_thinking:
        items.append(
            {"type": "reasoning.encrypted", "data": redacted_data(), "format": fmt, "index": 1}
        )
    return items


def merged_details(gen: Generation, streamed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a correct client rebuilds per index, and what the non-streamed answer carries."""
    merged: dict[int, dict[str, Any]] = {}
    for item in streamed:
        into = merged.setdefault(int(item["index"]), {})
        for key, value in item.items():
            if key in ("text", "data"):
                into[key] = into.get(key, "") + value
            elif key == "signature":
                into[key] = value or into.get(key)
            else:
                into[key] = value
    return [merged[k] for k in sorted(merged)]


def _verdict(details: object) -> str:
    """ok | missing | forged | modified for an echoed `reasoning_details` list."""
    if not isinstance(details, list) or not details:
        return "missing"
    per_index: dict[object, dict[str, Any]] = {}
    for item in details:
        if not isinstance(item, dict):
            return "modified"
        into = per_index.setdefault(item.get("index", 0), {"text": "", "data": ""})
        for key in ("text", "data"):
            if isinstance(item.get(key), str):
                into[key] += item[key]
        if item.get("signature"):
            into["signature"] = item["signature"]
        into["type"], into["format"] = item.get("type"), item.get("format")
    for entry in per_index.values():
        if entry["type"] == "reasoning.encrypted":
            if not verify_redacted(entry["data"]):
                return "modified"
            continue
        if entry["format"] != SIGNED_FORMAT:
            return "modified"
        verdict = verify_thinking(entry.get("signature"), entry["text"])
        if verdict != "ok":
            return verdict
    return "ok"


def _provider_error(message: str) -> Problem:
    raw = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
        "request_id": request_id_like(),
    }
    return Problem(
        "Provider returned error",
        body={
            "error": {
                "message": "Provider returned error",
                "code": 400,
                "metadata": {"raw": json.dumps(raw), "provider_name": "Anthropic"},
            },
            "user_id": "user_fake0001",
        },
    )


def check_anthropic_model(body: dict[str, Any], model: str, reasoning: bool) -> Problem | None:
    """What the Anthropic provider behind OpenRouter refuses: cache markers on tools for old
    models, and a tool loop whose reasoning was not echoed back unchanged."""
    if not is_anthropic(model):
        return None
    tools = body.get("tools")
    if "claude-3-haiku" in model and isinstance(tools, list):
        for i, tool in enumerate(tools):
            if isinstance(tool, dict) and "cache_control" in tool:
                return _provider_error(f"tools.{i}.cache_control: Extra inputs are not permitted")
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if not reasoning or not messages or messages[-1].get("role") != "tool":
        return None
    # Anthropic counts messages without the system ones OpenRouter lifts into `system`.
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    index = max((i for i, m in enumerate(turns) if m.get("role") == "assistant"), default=-1)
    if index < 0 or not turns[index].get("tool_calls"):
        return None
    verdict = _verdict(turns[index].get("reasoning_details"))
    if verdict == "missing":
        found = "text" if turns[index].get("content") else "tool_use"
        return _provider_error(anthropic_texts.thinking_missing(index, found))
    if verdict == "forged":
        return _provider_error(anthropic_texts.signature_invalid(index, 0))
    if verdict == "modified":
        return _provider_error(anthropic_texts.thinking_modified(index, 0))
    return None


def file_annotations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The file-parser's output for each `file` part, which clients may echo to skip parsing."""
    found: list[dict[str, Any]] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            file = part.get("file") if isinstance(part, dict) else None
            if part.get("type") != "file" or not isinstance(file, dict):
                continue
            data = str(file.get("file_data") or file.get("file_id") or "")
            name = str(file.get("filename") or "document.pdf")
            found.append(
                {
                    "type": "file",
                    "file": {
                        "hash": hashlib.sha256(data.encode()).hexdigest(),
                        "name": name,
                        "content": [{"type": "text", "text": f"(parsed text of {name})"}],
                    },
                }
            )
    return found
