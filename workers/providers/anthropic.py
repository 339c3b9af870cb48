"""Anthropic Messages API, native (provider-wire.md §5), translated both ways: the request in
`anthropic_request` (and its conversation in `anthropic_messages`), the stream in
`anthropic_stream`.

Differences from Chat Completions that matter here: ``system`` is a top-level field, not a
message role; ``max_tokens`` is required; tools, tool calls, images, documents and signed
thinking are content blocks; the stream's events are typed and end with ``message_stop``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.config import ProviderConfig
from workers.providers.anthropic_request import max_tokens_of, request_body
from workers.providers.anthropic_stream import STOP_REASONS, MessagesParser
from workers.providers.base import Chunk, ProviderCall
from workers.providers.sse_chat import SSEChatProvider, StreamParser

__all__ = ["STOP_REASONS", "AnthropicOptions", "AnthropicProvider", "MessagesParser"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Above this max_tokens an answer is streamed even where nobody reads it as it comes: the
# Anthropic SDKs refuse a non-streamed call that may outlast 10 minutes (21,333 tokens), or
# that asks an Opus 4 model for more than 8,192.
WHOLE_MAX_TOKENS = 8192


class AnthropicOptions(BaseModel):
    """``options`` of an ``anthropic`` provider."""

    model_config = ConfigDict(extra="forbid")

    default_max_tokens: int = Field(
        4096,
        ge=1,
        description="max_tokens when the request sets none (the API requires it); a thinking "
        "budget is added to it",
    )
    anthropic_version: str = Field(API_VERSION, description="the anthropic-version header")


class AnthropicProvider(SSEChatProvider):
    """Streams ``POST {base_url}/v1/messages`` at api.anthropic.com by default, or asks for
    the whole message (``stream: false``) when the call is ``whole`` and short enough."""

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
        return request_body(
            call, provider=self.name, default_max_tokens=self.options.default_max_tokens
        )

    def new_parser(self) -> StreamParser:
        return MessagesParser(self.name)

    def answers_whole(self, call: ProviderCall) -> bool:
        max_tokens = max_tokens_of(
            call, provider=self.name, default_max_tokens=self.options.default_max_tokens
        )
        return max_tokens is not None and max_tokens <= WHOLE_MAX_TOKENS

    def whole_chunk(self, answer: dict[str, Any]) -> Chunk:
        return MessagesParser(self.name).whole(answer)

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
