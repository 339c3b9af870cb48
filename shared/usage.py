"""Token counts of one job, as its provider reported them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Usage(BaseModel):
    """Token counts as the provider reported them (``estimated`` when it reported none).

    ``prompt_tokens`` counts the whole prompt: ``cached_tokens`` of it were read from the
    provider's prompt cache and ``cache_write_*_tokens`` written to it (for 5 minutes or an
    hour; a provider that does not say how long counts as 5 minutes)."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens
