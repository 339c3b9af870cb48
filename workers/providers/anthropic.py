"""Anthropic Messages API, native (provider-wire.md §5).

Differences from Chat Completions that matter here:

* ``system`` is a top-level field, not a message role; ``max_tokens`` is required;
* events are typed by their SSE ``event:`` line; the stream ends with ``message_stop`` (no
  ``[DONE]``); ``ping`` can come anywhere; ``event: error`` reports a failure inside a 200;
* text comes in ``text_delta``, thinking in ``thinking_delta`` (``signature_delta`` is not text);
* input tokens arrive in ``message_start``, output tokens in ``message_delta`` as a running
  total (the last one wins: summing them would over-count).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.chat import ChatMessage
from shared.config import ProviderConfig
from shared.usage import Usage
from workers.providers.base import Chunk, ProviderCall
from workers.providers.http_errors import from_error_event
from workers.providers.sse import SSEFrame
from workers.providers.sse_chat import SSEChatProvider, StreamParser, parse_frame

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Anthropic stop_reason -> the finish_reason every front end speaks; others pass through.
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
SYSTEM_ROLES = ("system", "developer")


class AnthropicOptions(BaseModel):
    """``options`` of an ``anthropic`` provider."""

    model_config = ConfigDict(extra="forbid")

    default_max_tokens: int = Field(
        4096, ge=1, description="max_tokens when the request sets none (the API requires it)"
    )
    anthropic_version: str = Field(API_VERSION, description="the anthropic-version header")


def anthropic_messages(messages: list[ChatMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """The top-level ``system`` text and the ``messages`` (user/assistant roles only)."""
    system = [m.text for m in messages if m.role in SYSTEM_ROLES and m.text]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role in SYSTEM_ROLES:
            continue
        if message.role == "tool":
            # A tool's answer is a user turn holding a tool_result block.
            block: dict[str, Any] = {"type": "tool_result", "content": message.content}
            if message.tool_call_id:
                block["tool_use_id"] = message.tool_call_id
            turns.append({"role": "user", "content": [block]})
        else:
            turns.append({"role": message.role, "content": message.content})
    return ("\n\n".join(system) or None), turns


class MessagesParser:
    """The events of one Messages stream; keeps the input usage until the output total comes."""

    terminator = "message_stop"

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.input_tokens = 0
        self.cache_read = 0
        self.cache_creation = 0
        self.cache_creation_1h = 0
        self.output_tokens = 0
        self.reported_usage = False

    def merge(self, frames: list[SSEFrame]) -> tuple[Chunk, bool]:
        merged = Chunk()
        for frame in frames:
            payload = parse_frame(self.provider, frame)
            # Dispatch on the event name, as the SDK does; the JSON repeats it as `type`.
            kind = frame.event or str(payload.get("type") or "")
            if kind == "message_stop":
                if not self.reported_usage:  # no message_delta came: report what we know
                    merged.usage = self.usage()
                return merged, True
            self._merge_event(merged, kind, payload)
        return merged, False

    def _merge_event(self, merged: Chunk, kind: str, payload: dict[str, Any]) -> None:
        if kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta":
                merged.content += delta.get("text") or ""
            elif delta.get("type") == "thinking_delta":
                merged.reasoning += delta.get("thinking") or ""
        elif kind == "content_block_start":
            # Blocks normally open empty, but any text they open with is part of the answer.
            block = payload.get("content_block") or {}
            if block.get("type") == "text":
                merged.content += block.get("text") or ""
            elif block.get("type") == "thinking":
                merged.reasoning += block.get("thinking") or ""
        elif kind == "message_start":
            self._take_usage((payload.get("message") or {}).get("usage") or {})
        elif kind == "message_delta":
            stop_reason = (payload.get("delta") or {}).get("stop_reason")
            if stop_reason:
                merged.finish_reason = STOP_REASONS.get(stop_reason, stop_reason)
            self._take_usage(payload.get("usage") or {})
            merged.usage = self.usage()
            self.reported_usage = True
        elif kind == "error":
            raise from_error_event(self.provider, payload)
        # ping, content_block_stop and event types added later carry nothing we use.

    def _take_usage(self, raw: dict[str, Any]) -> None:
        """Every count is a running total: a later value replaces an earlier one (a zero or
        missing value is a placeholder, not a total that went down)."""
        self.input_tokens = int(raw.get("input_tokens") or self.input_tokens)
        self.cache_read = int(raw.get("cache_read_input_tokens") or self.cache_read)
        self.cache_creation = int(raw.get("cache_creation_input_tokens") or self.cache_creation)
        split = raw.get("cache_creation")
        if isinstance(split, dict):
            hour = split.get("ephemeral_1h_input_tokens")
            self.cache_creation_1h = int(hour or self.cache_creation_1h)
        self.output_tokens = int(raw.get("output_tokens") or self.output_tokens)

    def usage(self) -> Usage:
        # input_tokens excludes the cached part: the prompt is all three (provider-wire.md 5.2).
        prompt = self.input_tokens + self.cache_read + self.cache_creation
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=self.output_tokens,
            total_tokens=prompt + self.output_tokens,
            cached_tokens=self.cache_read,
            cache_write_5m_tokens=self.cache_creation - self.cache_creation_1h,
            cache_write_1h_tokens=self.cache_creation_1h,
        )


class AnthropicProvider(SSEChatProvider):
    """Streams ``POST {base_url}/v1/messages`` at api.anthropic.com by default."""

    default_base_url = DEFAULT_BASE_URL
    chat_path = "/v1/messages"
    models_path = "/v1/models"

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.options = AnthropicOptions.model_validate(config.options)
        super().__init__(name, config)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def adapter_headers(self) -> dict[str, str]:
        return {"anthropic-version": self.options.anthropic_version}

    def request_body(self, call: ProviderCall) -> dict[str, Any]:
        request = call.request
        system, messages = anthropic_messages(request.messages)
        body: dict[str, Any] = {
            **call.extra_body,
            "model": call.model,
            "messages": messages,
            "max_tokens": request.max_tokens or self.options.default_max_tokens,
            "stream": True,
        }
        if system is not None:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop is not None:
            body["stop_sequences"] = (
                [request.stop] if isinstance(request.stop, str) else request.stop
            )
        if request.user is not None:
            metadata = body.get("metadata")
            body["metadata"] = {
                **(metadata if isinstance(metadata, dict) else {}),
                "user_id": request.user,
            }
        # seed and the penalties have no Messages equivalent; the API refuses unknown fields.
        return body

    def new_parser(self) -> StreamParser:
        return MessagesParser(self.name)

    async def list_models(self) -> list[str]:
        """Every page of ``GET /v1/models`` (``has_more`` / ``after_id``)."""
        ids: list[str] = []
        params: dict[str, str | int] = {"limit": 1000}
        for _ in range(100):  # a bound, in case a buggy server keeps saying has_more
            page = await self._get_json(self.models_path, params)
            ids += [
                str(m["id"]) for m in page.get("data") or () if isinstance(m, dict) and "id" in m
            ]
            if not page.get("has_more") or not page.get("last_id"):
                break
            params["after_id"] = str(page["last_id"])
        return ids
