"""Per-key rate limits, held exactly in Redis however many gateways admit requests.

Requests and tokens per minute use GCRA on Redis time (a burst of the whole minute's allowance,
then a steady rate); concurrency counts the key's unfinished jobs. Tokens are estimated at
admission and corrected with the provider's real count when the job ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from shared.apikeys import KeyLimits
from shared.auto_pipeline import AutoPipeline
from shared.chat import ChatRequest
from shared.config import ProviderLimits
from shared.content import AudioPart, ContentPart, FilePart, ImagePart
from shared.embeddings import EmbeddingRequest
from shared.keys import RedisKeys
from shared.lua import lua_source

IMAGE_TOKENS = 765
IMAGE_LOW_DETAIL_TOKENS = 85
FILE_BYTES_PER_TOKEN = 50
MIN_FILE_TOKENS = 500
AUDIO_BYTES_PER_TOKEN = 100
# When max_tokens is not given, admission assumes this many completion tokens.
DEFAULT_COMPLETION_ESTIMATE = 512
CHARS_PER_TOKEN = 4
NON_ASCII_TOKENS = 0.75
# Provider quotas share the key-limit machinery under this scope (no key id contains a colon).
PROVIDER_SCOPE = "provider:"


def estimate_text_tokens(text: str) -> int:
    """About four ASCII characters a token; other characters (CJK above all) cost far more,
    about three quarters of a token each (measured by bench/estimator.py)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return int(ascii_chars / CHARS_PER_TOKEN + (len(text) - ascii_chars) * NON_ASCII_TOKENS) + 1


def estimate_tokens(request: ChatRequest | EmbeddingRequest) -> int:
    """The prompt's estimated tokens plus the completion the request allows (none for
    embeddings)."""
    if isinstance(request, EmbeddingRequest):
        return estimate_prompt_tokens(request)
    return estimate_prompt_tokens(request) + (request.max_tokens or DEFAULT_COMPLETION_ESTIMATE)


def estimate_prompt_tokens(request: ChatRequest | EmbeddingRequest) -> int:
    """Text as ``estimate_text_tokens``; tool definitions and calls by their JSON; an image
    85 tokens at detail ``low``, else 765 (OpenAI's tile rule for a 1024 px image); a file one
    token per 50 bytes (at least 500); audio one per 100 bytes. The provider's usage corrects
    the estimate when the job ends. Texts to embed count as text, token arrays as their length."""
    if isinstance(request, EmbeddingRequest):
        return sum(
            estimate_text_tokens(item) if isinstance(item, str) else len(item)
            for item in request.input
        )
    tokens = 0
    for message in request.messages:
        tokens += estimate_text_tokens(message.text)
        for call in message.tool_calls or ():
            tokens += estimate_text_tokens(call.function.name + call.function.arguments)
        tokens += sum(_part_tokens(part) for part in message.parts)
    if request.tools:
        definitions = orjson.dumps([tool.model_dump() for tool in request.tools])
        tokens += estimate_text_tokens(definitions.decode())
    return tokens


def _part_tokens(part: ContentPart) -> int:
    if isinstance(part, ImagePart):
        return IMAGE_LOW_DETAIL_TOKENS if part.image_url.detail == "low" else IMAGE_TOKENS
    if isinstance(part, FilePart):
        inline = part.file.inline
        size = inline.size_bytes if inline is not None else 0
        return max(MIN_FILE_TOKENS, size // FILE_BYTES_PER_TOKEN)
    if isinstance(part, AudioPart):
        return len(part.input_audio.data) * 3 // 4 // AUDIO_BYTES_PER_TOKEN
    return 0


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``"340ms"``, ``"12s"``, ``"1m5s"``."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"


@dataclass(frozen=True, slots=True)
class LimitDecision:
    admitted: bool
    refused_by: str
    retry_after_s: float
    limits: KeyLimits
    requests_remaining: int
    requests_reset_s: float
    tokens_remaining: int
    tokens_reset_s: float

    def headers(self) -> dict[str, str]:
        """OpenAI-style ``x-ratelimit-*`` headers, for the limits the key has."""
        headers: dict[str, str] = {}
        rpm, tpm = self.limits.requests_per_minute, self.limits.tokens_per_minute
        if rpm is not None:
            headers["x-ratelimit-limit-requests"] = str(rpm)
            headers["x-ratelimit-remaining-requests"] = str(self.requests_remaining)
            headers["x-ratelimit-reset-requests"] = _duration(self.requests_reset_s)
        if tpm is not None:
            headers["x-ratelimit-limit-tokens"] = str(tpm)
            headers["x-ratelimit-remaining-tokens"] = str(self.tokens_remaining)
            headers["x-ratelimit-reset-tokens"] = _duration(self.tokens_reset_s)
        if not self.admitted:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after_s)))
        return headers


class RateLimiter:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        # Admissions of the requests of one loop turn go to Redis as one pipeline.
        self._admit = AutoPipeline(redis).script(lua_source("admit.lua"))

    async def load_scripts(self) -> None:
        await self._admit.load()

    async def admit_provider(
        self, provider: str, limits: ProviderLimits, *, job_id: str, until: float, tokens: int
    ) -> LimitDecision:
        """A provider's quota for one attempt; ``release_provider`` when the attempt ends."""
        as_key = KeyLimits(
            requests_per_minute=limits.requests_per_minute,
            tokens_per_minute=limits.tokens_per_minute,
            concurrent_jobs=limits.concurrent_requests,
        )
        scope = PROVIDER_SCOPE + provider
        return await self.admit(scope, as_key, job_id=job_id, deadline_at=until, tokens=tokens)

    async def release_provider(self, provider: str, job_id: str) -> None:
        await self.redis.zrem(self.keys.running_jobs(PROVIDER_SCOPE + provider), job_id)

    async def admit(
        self, key_id: str, limits: KeyLimits, *, job_id: str, deadline_at: float, tokens: int
    ) -> LimitDecision:
        reply = cast(
            "list[Any]",
            await self._admit(
                keys=[
                    self.keys.limit(key_id, "requests"),
                    self.keys.limit(key_id, "tokens"),
                    self.keys.running_jobs(key_id),
                ],
                args=[
                    limits.requests_per_minute or 0,
                    limits.tokens_per_minute or 0,
                    tokens,
                    limits.concurrent_jobs or 0,
                    job_id,
                    deadline_at,
                ],
            ),
        )
        admitted, refused_by, wait, left_r, reset_r, left_t, reset_t = reply
        return LimitDecision(
            admitted=bool(admitted),
            refused_by=refused_by.decode() if isinstance(refused_by, bytes) else str(refused_by),
            retry_after_s=float(wait),
            limits=limits,
            requests_remaining=int(left_r),
            requests_reset_s=float(reset_r),
            tokens_remaining=int(left_t),
            tokens_reset_s=float(reset_t),
        )

    async def give_back(
        self, key_id: str, job_id: str, *, tokens: int, per_minute: int | None
    ) -> None:
        """Undo an admission whose job never ran: its concurrency slot and its tokens."""
        await self.redis.zrem(self.keys.running_jobs(key_id), job_id)
        if per_minute:
            await self.correct_tokens(key_id, per_minute, -tokens)

    async def correct_tokens(self, key_id: str, tokens_per_minute: int, delta: int) -> None:
        """Charge (or give back) the difference between the real and the estimated tokens."""
        key = self.keys.limit(key_id, "tokens")
        if delta and await self.redis.exists(key):
            await self.redis.incrbyfloat(key, delta * 60.0 / tokens_per_minute)
