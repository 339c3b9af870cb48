"""Anthropic Messages request checks, with the API's 400 texts (wire-tools §4.1-4.7).

The order follows what the API reports first in practice: fields a foreign upstream refuses,
then the body's shape (tools, blocks), then conversation rules (tool_use answered by tool_result
blocks first in the next message, thinking kept across a tool loop), then cache breakpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers

from . import anthropic_texts
from .anthropic_media import ImageTally, document_problem, image_problem
from .prompt import prompt_blocks
from .scenario import Scenario
from .schema_gen import schema_problem
from .signing import verify_redacted, verify_thinking
from .structured import STRUCTURED_BETA
from .wire import Problem

_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_BREAKPOINTS = 4
_TTL_ORDER = (
    "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note "
    "that blocks are processed in the following order: `tools`, `system`, `messages`."
)
_SCHEMA_INVALID = (
    "JSON schema is invalid. It must match JSON Schema draft 2020-12 "
    "(https://json-schema.org/draft/2020-12). Learn more about tool use at "
    "https://docs.anthropic.com/en/docs/tool-use."
)


def _foreign(body: dict[str, Any], headers: Headers, sc: Scenario) -> str | None:
    """A Vertex / Bedrock / old-relay upstream refusing newer fields (§4.6, §5.6)."""
    if sc.rejects("betas") and headers.get("anthropic-beta"):
        return "invalid beta flag"
    for field in ("output_config", "context_management"):
        if sc.rejects(field) and field in body:
            return f"{field}: Extra inputs are not permitted"
    if sc.rejects("cache_control") and "cache_control" in body:
        return "cache_control: Extra inputs are not permitted"
    for block in prompt_blocks(body, "", with_system=True):
        marker = block.cache_control
        if marker is None:
            continue
        if sc.rejects("cache_control"):
            return f"{block.path}.cache_control: Extra inputs are not permitted"
        if sc.rejects("ttl") and isinstance(marker, dict) and "ttl" in marker:
            return f"{block.path}.cache_control.ttl: Extra inputs are not permitted"
    return None


def _open_objects(schema: object, path: str) -> str | None:
    if isinstance(schema, dict):
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            return (
                f"{path}: For 'object' type, 'additionalProperties' must be explicitly set to false"
            )
        for key, sub in schema.items():
            if key in ("properties", "$defs", "definitions") and isinstance(sub, dict):
                for name, inner in sub.items():
                    found = _open_objects(inner, f"{path}.{key}.{name}")
                    if found:
                        return found
            elif key in ("items", "anyOf"):
                for k, inner in enumerate(sub if isinstance(sub, list) else [sub]):
                    found = _open_objects(inner, f"{path}.{key}.{k}")
                    if found:
                        return found
    return None


def _structured(body: dict[str, Any], headers: Headers) -> str | None:
    if "output_format" in body:
        betas = (headers.get("anthropic-beta") or "").split(",")
        if STRUCTURED_BETA not in [b.strip() for b in betas]:
            return "output_format: Extra inputs are not permitted"
        where, fmt = "output_format", body["output_format"]
    else:
        config = body.get("output_config")
        where, fmt = (
            "output_config.format",
            config.get("format") if isinstance(config, dict) else None,
        )
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") != "json_schema":
        return f"{where}.type: Input should be 'json_schema'"
    if not isinstance(fmt.get("schema"), dict):
        return f"{where}.schema: Field required"
    return _open_objects(fmt["schema"], f"{where}.schema")


def _tools(body: dict[str, Any], thinking: bool) -> str | None:
    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        if not isinstance(tool, dict):
            return f"tools.{i}: Input should be a valid dictionary"
        name = tool.get("name")
        server_tool = tool.get("type") not in (None, "custom")
        where = f"tools.{i}" if server_tool else f"tools.{i}.custom"
        if not isinstance(name, str):
            return f"{where}.name: Field required"
        if server_tool:
            continue
        if not _TOOL_NAME.match(name):
            return f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            return f"{where}.input_schema: Field required"
        if schema.get("type") != "object":
            return f"{where}.input_schema.type: Input should be 'object'"
        if schema_problem(schema):
            return f"{where}.input_schema: {_SCHEMA_INVALID}"
    choice = body.get("tool_choice")
    if thinking and isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None


def _block(block: object, path: str, tally: ImageTally) -> str | None:
    if not isinstance(block, dict):
        return f"{path}: Input should be a valid dictionary"
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            return f"{path}.text.text: Field required"
        return "messages: text content blocks must be non-empty" if text == "" else None
    if kind == "image":
        return image_problem(block, path, tally)
    if kind == "document":
        return document_problem(block, path)
    if kind == "tool_use":
        if not isinstance(block.get("id"), str) or not _ID.match(block["id"]):
            return f"{path}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        if not isinstance(block.get("name"), str):
            return f"{path}.tool_use.name: Field required"
        if not isinstance(block.get("input"), dict):
            return f"{path}.tool_use.input: Input should be a valid dictionary"
    if kind == "tool_result":
        use_id = block.get("tool_use_id")
        if not isinstance(use_id, str) or not _ID.match(use_id):
            return f"{path}.tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        nested = block.get("content")
        for k, inner in enumerate(nested if isinstance(nested, list) else []):
            found = _block(inner, f"{path}.content.{k}", tally)
            if found:
                return found
    if kind == "thinking":
        for key in ("thinking", "signature"):
            if not isinstance(block.get(key), str):
                return f"{path}.thinking.{key}: Field required"
        if "cache_control" in block:
            return f"{path}.thinking.cache_control: Extra inputs are not permitted"
    if kind == "redacted_thinking" and not isinstance(block.get("data"), str):
        return f"{path}.redacted_thinking.data: Field required"
    return None


def _messages(messages: list[Any]) -> str | None:
    tally = ImageTally()
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        final_assistant = i == len(messages) - 1 and message.get("role") == "assistant"
        if content in ("", []) and not final_assistant:
            return (
                f"messages.{i}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
        for j, block in enumerate(content if isinstance(content, list) else []):
            found = _block(block, f"messages.{i}.content.{j}", tally)
            if found:
                return found
    return tally.many_image_problem()


@dataclass
class _Turn:
    """Consecutive same-role messages, which the API combines into one turn."""

    role: object
    blocks: list[tuple[int, int, dict[str, Any]]]  # (message index, block index, block)

    def of_type(self, kind: str) -> list[tuple[int, int, dict[str, Any]]]:
        return [b for b in self.blocks if b[2].get("type") == kind]


def _turns(messages: list[dict[str, Any]]) -> list[_Turn]:
    turns: list[_Turn] = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str):
            blocks = [(i, 0, {"type": "text", "text": content})]
        else:
            items = content if isinstance(content, list) else []
            blocks = [(i, j, b) for j, b in enumerate(items) if isinstance(b, dict)]
        if turns and turns[-1].role == message.get("role"):
            turns[-1].blocks += blocks
        else:
            turns.append(_Turn(message.get("role"), blocks))
    return turns


def _pairing(turns: list[_Turn]) -> str | None:
    """Every tool_use answered by tool_result blocks at the START of the next turn, and every
    tool_result answering a tool_use of the turn just before."""
    for k, turn in enumerate(turns):
        if turn.role == "assistant":
            uses = turn.of_type("tool_use")
            if not uses or k + 1 >= len(turns):
                continue
            leading: list[str] = []
            for _, _, block in turns[k + 1].blocks:
                if block.get("type") != "tool_result":
                    break
                leading.append(str(block.get("tool_use_id")))
            missing = [b["id"] for _, _, b in uses if b["id"] not in leading]
            if missing:
                index = uses[0][0]
                return (
                    f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
        elif turn.role == "user":
            previous = turns[k - 1] if k > 0 and turns[k - 1].role == "assistant" else None
            known = {b["id"] for _, _, b in previous.of_type("tool_use")} if previous else set()
            for i, j, block in turn.of_type("tool_result"):
                if block.get("tool_use_id") not in known:
                    return (
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                        f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` "
                        "block must have a corresponding `tool_use` block in the previous message."
                    )
    return None


def _thinking_loop(turns: list[_Turn]) -> str | None:
    """With thinking on, in a tool loop the latest assistant turn must start with its thinking,
    and its thinking blocks must come back exactly as they were sent."""
    if not turns or not turns[-1].of_type("tool_result"):
        return None
    latest = next((t for t in reversed(turns) if t.role == "assistant"), None)
    if latest is None or not latest.of_type("tool_use"):
        return None
    i, _, first = latest.blocks[0]
    if first.get("type") not in ("thinking", "redacted_thinking"):
        return anthropic_texts.thinking_missing(i, str(first.get("type")))
    for i, j, block in latest.blocks:
        if block.get("type") == "thinking":
            verdict = verify_thinking(block.get("signature"), block.get("thinking"))
            if verdict == "forged":
                return anthropic_texts.signature_invalid(i, j)
            if verdict == "modified":
                return anthropic_texts.thinking_modified(i, j)
        elif block.get("type") == "redacted_thinking" and not verify_redacted(block.get("data")):
            return anthropic_texts.thinking_modified(i, j)
    return None


def _breakpoints(body: dict[str, Any]) -> str | None:
    markers = [
        (b.path, b.cache_control)
        for b in prompt_blocks(body, "", with_system=True)
        if b.cache_control is not None
    ]
    total = len(markers) + (1 if body.get("cache_control") is not None else 0)
    if total > _MAX_BREAKPOINTS:
        return (
            f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {total}."
        )
    seen_5m = False
    for path, marker in markers:
        ttl = marker.get("ttl", "5m") if isinstance(marker, dict) else "5m"
        if ttl not in ("5m", "1h"):
            return f"{path}.cache_control.ephemeral.ttl: Input should be '5m' or '1h'"
        if ttl == "1h" and seen_5m:
            return f"{path}.cache_control.ttl: {_TTL_ORDER}"
        seen_5m = seen_5m or ttl == "5m"
    return None


def check_request(
    body: dict[str, Any], headers: Headers, sc: Scenario, thinking: bool
) -> Problem | None:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    turns = _turns(messages)
    found = (
        _foreign(body, headers, sc)
        or _structured(body, headers)
        or _tools(body, thinking)
        or _messages(messages)
        or _pairing(turns)
        or (_thinking_loop(turns) if thinking else None)
        or _breakpoints(body)
    )
    return Problem(found) if found else None
