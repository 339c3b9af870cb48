"""The provider protocol every adapter implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.usage import Usage


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One upstream call: the upstream model name, the client's request, and fields to add to
    the upstream body (the route step's and the client's ``extra_body``; the adapter's own
    fields such as ``model``, ``messages`` and ``stream`` always win)."""

    model: str
    request: ChatRequest
    extra_body: dict[str, Any] = field(default_factory=dict)


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

    async def list_models(self) -> list[str]:
        """The model ids the provider's own ``/models`` lists; ProviderError when unreachable."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


class ProviderFactory(Protocol):
    def __call__(self, name: str, config: ProviderConfig) -> Provider: ...
