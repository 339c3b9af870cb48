"""Adapter for any server speaking OpenAI's Chat Completions streaming format (OpenAI, vLLM,
Ollama, Together, ...), and the chunk parser DeepSeek and OpenRouter build on.

Usage is taken from whichever chunk carries it: OpenAI, vLLM and Ollama send a last chunk with
``choices: []``; DeepSeek puts it on the finish chunk; OpenRouter one frame after it.

A ``whole`` call asks for a non-streamed answer (``stream: false``), read as one delta.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.chat import ChatRequest
from shared.errors import (
    ProviderError,
    ProviderUnavailable,
    StreamInterrupted,
)
from shared.usage import Usage
from workers.providers.base import Chunk, Embedded, EmbeddingCall, ProviderCall
from workers.providers.chat_body import Dialect, chat_messages, tool_fields
from workers.providers.http_errors import error_message, from_status
from workers.providers.openai_embeddings import embedded_from, embeddings_body
from workers.providers.sse import SSEFrame
from workers.providers.sse_chat import SSEChatProvider, StreamParser, parse_frame
from workers.providers.timing import ReadBudget
from workers.providers.tool_fragments import ToolCallFragments


def usage_from_openai(usage: dict[str, Any]) -> Usage:
    """Read OpenAI-style usage, with the cached and reasoning counts wherever they are put."""
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
        cached_tokens=int(
            prompt_details.get("cached_tokens") or usage.get("prompt_cache_hit_tokens") or 0
        ),
        # OpenAI's newest field and OpenRouter's: the writes, with no TTL said (5 minutes).
        cache_write_5m_tokens=int(prompt_details.get("cache_write_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


class ChatCompletionsParser:
    """Chat Completions chunks: ``data: {json}`` frames ending with ``data: [DONE]``."""

    terminator = "[DONE]"

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.tool_calls = ToolCallFragments()

    def merge(self, frames: list[SSEFrame]) -> tuple[Chunk, bool]:
        merged = Chunk()
        for frame in frames:
            if frame.data.startswith("[DONE]"):  # a prefix match, as openai-python does
                return merged, True
            self.merge_payload(merged, parse_frame(self.provider, frame))
        return merged, False

    def merge_payload(self, merged: Chunk, payload: dict[str, Any]) -> None:
        if payload.get("error") or payload.get("object") == "error":
            raise self.stream_error(payload)
        for choice in payload.get("choices") or ():
            delta = choice.get("delta") or {}
            # `or ""`: reasoners send the other field as an explicit null, not absent.
            merged.content += delta.get("content") or ""
            merged.reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            if isinstance(delta.get("tool_calls"), list):
                merged.tool_calls += self.tool_calls.regular(delta["tool_calls"])
            self.merge_delta(merged, delta)
            if choice.get("finish_reason"):
                merged.finish_reason = choice["finish_reason"]
        if payload.get("usage"):
            merged.usage = self.usage(payload["usage"])

    def merge_delta(self, merged: Chunk, delta: dict[str, Any]) -> None:
        """What a dialect reads from a delta beyond text and tool calls (nothing here)."""

    def whole(self, answer: dict[str, Any]) -> Chunk:
        """A non-streamed answer as one chunk: each choice's message read as its delta."""
        choices = answer.get("choices")
        if not answer.get("error") and answer.get("object") != "error" and not choices:
            raise StreamInterrupted(
                f"{self.provider}: the answer has no choices", provider=self.provider
            )
        as_streamed = {**answer, "choices": [_as_delta(c) for c in choices or ()]}
        merged = Chunk()
        self.merge_payload(merged, as_streamed)
        return self.ended(merged)

    def ended(self, merged: Chunk) -> Chunk:
        """The answer's last chunk, with what a dialect hands on only at the end (nothing)."""
        return merged

    def usage(self, raw: dict[str, Any]) -> Usage:
        return usage_from_openai(raw)

    def stream_error(self, payload: dict[str, Any]) -> ProviderError:
        """An error frame inside a 200 stream: the provider may serve the next attempt."""
        return ProviderUnavailable(
            f"{self.provider} reported an error mid-stream: {error_message(payload)}",
            provider=self.provider,
        )


def _as_delta(choice: object) -> object:
    """A non-streamed choice as a streamed one: its message as the delta, each tool call at
    its position (a message's calls carry no index)."""
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        return choice
    delta = dict(choice["message"])
    if isinstance(delta.get("tool_calls"), list):
        delta["tool_calls"] = [
            {**call, "index": index} if isinstance(call, dict) else call
            for index, call in enumerate(delta["tool_calls"])
        ]
    return {**choice, "delta": delta}


class OpenAICompatibleProvider(SSEChatProvider):
    """Streams ``POST {base_url}/chat/completions`` with ``stream_options.include_usage``, or
    asks for the whole answer (``stream: false``) when the call is ``whole``."""

    dialect = Dialect()
    embeddings_path = "/embeddings"

    def answers_whole(self, call: ProviderCall) -> bool:
        return True

    def request_body(self, call: ProviderCall) -> dict[str, Any]:
        request = call.request
        body = {
            **call.extra_body,
            "model": call.model,
            "messages": chat_messages(request.messages, self.dialect),
            **request.sampling_options(),
            **tool_fields(request, self.dialect),
            **self.reasoning_fields(request),
            "stream": not call.whole,
            "stream_options": {"include_usage": True},
        }
        if call.whole:  # OpenAI refuses stream_options without stream, even the caller's
            del body["stream_options"]
        return body

    def reasoning_fields(self, request: ChatRequest) -> dict[str, Any]:
        """How the upstream is asked to reason (OpenAI's reasoning_effort here)."""
        if request.reasoning_effort is None:
            return {}
        return {"reasoning_effort": request.reasoning_effort}

    def new_parser(self) -> StreamParser:
        return self.chat_parser()

    def chat_parser(self) -> ChatCompletionsParser:
        """A parser for one call's frames or answer, in this dialect."""
        return ChatCompletionsParser(self.name)

    def whole_chunk(self, answer: dict[str, Any]) -> Chunk:
        return self.chat_parser().whole(answer)

    async def embed(self, call: EmbeddingCall) -> Embedded:
        """``POST {base_url}/embeddings``, the whole answer within the first-token budget."""
        body = orjson.dumps(embeddings_body(call))
        with ReadBudget(self.config.timeouts) as budget:
            response = await budget.run(self._client.post(self.embeddings_path, body), self.name)
            try:
                raw = await budget.run(response.read(), self.name)
            finally:
                response.close()
        if response.status != 200:
            raise from_status(self.name, response.status, response.headers, raw, self._secrets)
        return embedded_from(self.name, raw, len(call.request.input))
