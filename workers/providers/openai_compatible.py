"""Adapter for any server speaking OpenAI's Chat Completions streaming format.

Usage is taken from whichever chunk carries it: OpenAI, vLLM and Ollama send a last chunk with
``choices: []``; DeepSeek puts it on the finish chunk; OpenRouter one frame after it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx
import orjson

from shared.config import ProviderConfig
from shared.errors import (
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)
from shared.jobs import Usage
from workers.providers.base import Chunk, ProviderCall
from workers.providers.http_errors import error_message, from_status
from workers.providers.sse import SSEDecoder, SSEFrame
from workers.providers.timing import ReadBudget


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
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


class OpenAICompatibleProvider:
    """Streams ``POST {base_url}/chat/completions`` with ``stream_options.include_usage``."""

    def __init__(self, name: str, config: ProviderConfig) -> None:
        if not config.base_url:
            raise ValueError(f"provider {name!r} needs a base_url")
        self.name = name
        self.config = config
        headers = {"Accept": "text/event-stream", **config.headers}
        if config.api_key is not None:
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        timeouts = config.timeouts
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            # Reads are timed by ReadBudget (first token, idle, total); httpx times the rest.
            timeout=httpx.Timeout(connect=timeouts.connect_s, read=None, write=30.0, pool=None),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_keepalive_connections,
            ),
        )

    def request_body(self, call: ProviderCall) -> dict[str, Any]:
        return {
            **call.extra_body,
            "model": call.model,
            "messages": [m.model_dump(exclude_none=True) for m in call.request.messages],
            **call.request.sampling_options(),
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    async def stream(self, call: ProviderCall) -> AsyncGenerator[Chunk, None]:
        budget = ReadBudget(self.config.timeouts)
        request = self._client.build_request(
            "POST",
            "/chat/completions",
            content=orjson.dumps(self.request_body(call)),
            headers={"Content-Type": "application/json"},
        )
        try:
            response = await budget.run(self._client.send(request, stream=True))
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"{self.name}: connect timed out", provider=self.name) from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.name}: cannot connect ({exc})", provider=self.name
            ) from exc
        try:
            if response.status_code != 200:
                raise from_status(self.name, response, await budget.run(response.aread()))
            async for chunk in self._chunks(response, budget):
                yield chunk
        except httpx.TransportError as exc:
            raise StreamInterrupted(
                f"{self.name}: stream broke ({exc!r})", provider=self.name
            ) from exc
        finally:
            await response.aclose()

    async def _chunks(
        self, response: httpx.Response, budget: ReadBudget
    ) -> AsyncGenerator[Chunk, None]:
        decoder = SSEDecoder()
        reads = response.aiter_bytes()
        while True:
            data = await budget.next_read(reads, self.name)
            if data is None:
                break
            chunk, done = self._merge(decoder.feed(data))
            if chunk.has_text:
                budget.got_token()
            if chunk.has_text or chunk.finish_reason or chunk.usage:
                yield chunk
            if done:
                # Read to the end of the body so the connection goes back to the pool.
                while await budget.next_read(reads, self.name) is not None:
                    pass
                return
        raise StreamInterrupted(f"{self.name}: the stream ended without [DONE]", provider=self.name)

    def _merge(self, frames: list[SSEFrame]) -> tuple[Chunk, bool]:
        """Merge the frames of one read into one chunk; True once ``[DONE]`` was seen."""
        merged = Chunk()
        for frame in frames:
            if frame.data.startswith("[DONE]"):
                return merged, True
            try:
                payload = orjson.loads(frame.data)
            except orjson.JSONDecodeError as exc:
                raise StreamInterrupted(
                    f"{self.name}: malformed frame in the stream", provider=self.name
                ) from exc
            self._merge_payload(merged, payload)
        return merged, False

    def _merge_payload(self, merged: Chunk, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise StreamInterrupted(f"{self.name}: unexpected frame", provider=self.name)
        if payload.get("error") or payload.get("object") == "error":
            raise ProviderUnavailable(
                f"{self.name} reported an error mid-stream: {error_message(payload)}",
                provider=self.name,
            )
        for choice in payload.get("choices") or ():
            delta = choice.get("delta") or {}
            merged.content += delta.get("content") or ""
            merged.reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            if choice.get("finish_reason"):
                merged.finish_reason = choice["finish_reason"]
        if payload.get("usage"):
            merged.usage = usage_from_openai(payload["usage"])

    async def list_models(self) -> list[str]:
        try:
            response = await self._client.get("/models", timeout=self.config.timeouts.connect_s)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{self.name}: /models unreachable", provider=self.name
            ) from exc
        if response.status_code != 200:
            raise from_status(self.name, response, response.content)
        return [str(item["id"]) for item in response.json().get("data", [])]

    async def aclose(self) -> None:
        await self._client.aclose()
