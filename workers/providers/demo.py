"""The built-in demo provider: deterministic text at a steady pace, no key, no network."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator

from pydantic import BaseModel, ConfigDict, Field

from shared.config import ProviderConfig
from shared.embeddings import Embeddings
from shared.usage import Usage
from workers.providers.base import Chunk, Embedded, EmbeddingCall, ProviderCall

REPLY = (
    "Hello! This answer comes from the llm-gateway demo provider, streamed token by token "
    "through the queue, a worker and Redis. Configure a provider key to talk to a real model. "
    "You said: "
)


DEMO_DIMENSIONS = 8


class DemoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_delay_s: float = Field(0.02, ge=0, description="pause before each token")


class DemoProvider:
    """Answers every request with the same words, so a first run streams with nothing set up."""

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.options = DemoOptions.model_validate(config.options)

    def answers_whole(self, call: ProviderCall) -> bool:
        return False

    async def stream(self, call: ProviderCall) -> AsyncGenerator[Chunk, None]:
        user_text = next((m.text for m in reversed(call.request.messages) if m.role == "user"), "")
        words = (REPLY + " ".join(user_text.split()[:50])).split(" ")
        tokens = [word + " " for word in words[:-1]] + [words[-1]]
        limit = call.request.max_tokens or len(tokens)
        for token in tokens[:limit]:
            if self.options.token_delay_s:
                await asyncio.sleep(self.options.token_delay_s)
            yield Chunk(content=token)
        prompt_tokens = sum(len(m.text.split()) for m in call.request.messages)
        completion_tokens = min(limit, len(tokens))
        yield Chunk(
            finish_reason="length" if limit < len(tokens) else "stop",
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )

    async def embed(self, call: EmbeddingCall) -> Embedded:
        """Deterministic vectors from each input's digest: the same text, the same vector."""
        size = call.request.dimensions or DEMO_DIMENSIONS
        vectors = []
        for item in call.request.input:
            digest = hashlib.sha256(str(item).encode()).digest()
            vectors.append([(digest[i % len(digest)] - 128) / 128 for i in range(size)])
        tokens = sum(len(str(item).split()) for item in call.request.input)
        return Embedded(
            Embeddings.of_floats(vectors), Usage(prompt_tokens=tokens, total_tokens=tokens)
        )

    async def list_models(self) -> list[str]:
        return ["demo-1"]

    async def aclose(self) -> None:
        return None
