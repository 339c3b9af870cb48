"""The provider protocol every adapter implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.jobs import Usage


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One upstream call: the upstream model name and the client's request."""

    model: str
    request: ChatRequest


@dataclass(slots=True)
class Chunk:
    """What the provider delivered in one network read, frames already merged."""

    content: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = field(default=None)

    @property
    def has_text(self) -> bool:
        return bool(self.content or self.reasoning)


class Provider(Protocol):
    """An adapter for one wire format. Errors leave it only as ``shared.errors.ProviderError``."""

    name: str

    def stream(self, call: ProviderCall) -> AsyncGenerator[Chunk, None]:
        """Stream the completion. Ends after the provider's terminator; an upstream that stops
        without one raises ``StreamInterrupted``."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


class ProviderFactory(Protocol):
    def __call__(self, name: str, config: ProviderConfig) -> Provider: ...
