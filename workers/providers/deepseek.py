"""DeepSeek: OpenAI-compatible Chat Completions with DeepSeek's own traps (provider-wire.md §3).

* usage rides on the finish chunk, with or without ``include_usage`` (no ``choices: []`` chunk);
* the cache hit count is ``prompt_cache_hit_tokens`` (``prompt_tokens_details`` came later and
  has been seen to disagree with it);
* reasoners stream ``reasoning_content`` with the other field an explicit ``null``;
* queued requests get ``: keep-alive`` comments before the first data (the SSE decoder drops them);
* ``finish_reason: insufficient_system_resource`` means the server gave up on the answer.

``thinking`` / ``reasoning_effort`` arrive in ``call.extra_body`` (the model catalogue's route
steps set them) and reach the upstream body unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.errors import ProviderUnavailable, StreamInterrupted
from shared.usage import Usage
from workers.providers.base import Chunk, ProviderCall
from workers.providers.chat_body import Dialect
from workers.providers.openai_compatible import (
    ChatCompletionsParser,
    OpenAICompatibleProvider,
    usage_from_openai,
)

DEFAULT_BASE_URL = "https://api.deepseek.com"
# OpenAI's efforts on DeepSeek's two (wire-tools §2).
REASONING_EFFORTS = {
    "minimal": "high",
    "low": "high",
    "medium": "high",
    "high": "high",
    "xhigh": "max",
}
# Not in OpenAI's vocabulary: DeepSeek ran out of capacity while generating.
INSUFFICIENT_RESOURCE = "insufficient_system_resource"


class DeepSeekOptions(BaseModel):
    """``options`` of a ``deepseek`` provider."""

    model_config = ConfigDict(extra="forbid")

    include_usage: bool = Field(
        True,
        description="send stream_options.include_usage; DeepSeek reports usage on the finish "
        "chunk either way, this only adds `usage: null` to the other chunks",
    )


class DeepSeekParser(ChatCompletionsParser):
    """Chat Completions chunks, reading DeepSeek's own cache-hit field first."""

    def usage(self, raw: dict[str, Any]) -> Usage:
        usage = usage_from_openai(raw)
        hits = raw.get("prompt_cache_hit_tokens")
        if isinstance(hits, int):
            usage.cached_tokens = hits
        return usage


class DeepSeekProvider(OpenAICompatibleProvider):
    """``POST {base_url}/chat/completions`` (no ``/v1``) at api.deepseek.com by default.

    A thinking-mode tool loop needs each assistant turn's ``reasoning_content`` back."""

    default_base_url = DEFAULT_BASE_URL
    dialect = Dialect(reasoning_text_field="reasoning_content")

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.options = DeepSeekOptions.model_validate(config.options)
        super().__init__(name, config)

    def request_body(self, call: ProviderCall) -> dict[str, Any]:
        body = super().request_body(call)
        if not self.options.include_usage and not call.whole:
            # Not ours to send then: a caller's own stream_options still passes through.
            body.pop("stream_options")
            if "stream_options" in call.extra_body:
                body["stream_options"] = call.extra_body["stream_options"]
        return body

    def reasoning_fields(self, request: ChatRequest) -> dict[str, Any]:
        """DeepSeek thinks at ``high`` or ``max``; ``none`` turns thinking off."""
        effort = request.reasoning_effort
        if effort is None:
            return {}
        if effort == "none":
            return {"thinking": {"type": "disabled"}}
        return {"thinking": {"type": "enabled"}, "reasoning_effort": REASONING_EFFORTS[effort]}

    def chat_parser(self) -> ChatCompletionsParser:
        return DeepSeekParser(self.name)

    async def stream(self, call: ProviderCall) -> AsyncGenerator[Chunk, None]:
        """As the OpenAI-compatible stream, but ``insufficient_system_resource`` is a failure:
        before any text another provider may serve (ProviderUnavailable); after some text the
        answer is cut short, which must not look like a clean end (StreamInterrupted)."""
        produced = False
        async with aclosing(super().stream(call)) as chunks:
            async for chunk in chunks:
                if chunk.finish_reason != INSUFFICIENT_RESOURCE:
                    produced = produced or chunk.has_text
                    yield chunk
                    continue
                if chunk.has_text:  # text of the same network read is still delivered
                    produced = True
                    yield Chunk(content=chunk.content, reasoning=chunk.reasoning)
                if produced:
                    raise StreamInterrupted(
                        f"{self.name}: the answer was cut short ({INSUFFICIENT_RESOURCE})",
                        provider=self.name,
                    )
                raise ProviderUnavailable(
                    f"{self.name}: no capacity to answer ({INSUFFICIENT_RESOURCE})",
                    provider=self.name,
                )
