"""The provider protocol every adapter implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.content import ReasoningDetail
from shared.embeddings import EmbeddingRequest, Embeddings
from shared.events import ToolCallDelta
from shared.usage import Usage


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One upstream call: the upstream model name, the client's request, and fields to add to
    the upstream body (the route step's and the client's ``extra_body``; the adapter's own
    fields such as ``model``, ``messages`` and ``stream`` always win). ``whole``: ask for the
    answer in one response, for a reader who waits for all of it (where the adapter
    ``answers_whole``)."""

    model: str
    request: ChatRequest
    extra_body: dict[str, Any] = field(default_factory=dict)
    whole: bool = False


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    """One upstream embeddings call: the upstream model, the texts, and fields to add."""

    model: str
    request: EmbeddingRequest
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Embedded:
    """What an embeddings call returned."""

    embeddings: Embeddings
    usage: Usage


@dataclass(slots=True)
class Chunk:
    """What the provider delivered in one network read, frames already merged: text, reasoning
    and tool-call fragments (the gateway's indices 0..n-1, id and name on a call's first
    fragment only), whole reasoning details, and the end's reason and usage."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    reasoning_details: list[ReasoningDetail] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = field(default=None)

    @property
    def has_text(self) -> bool:
        """Output a reader sees (text, reasoning or a tool call): the first token's clock."""
        return bool(self.content or self.reasoning or self.tool_calls)


class Provider(Protocol):
    """An adapter for one wire format. Errors leave it only as ``shared.errors.ProviderError``."""

    name: str

    def answers_whole(self, call: ProviderCall) -> bool:
        """Whether ``call`` may ask for a non-streamed answer (``ProviderCall.whole``), yielded
        as one chunk: no read per token where nobody reads the tokens as they come."""
        ...

    def stream(self, call: ProviderCall) -> AsyncGenerator[Chunk, None]:
        """Stream the completion. Ends after the provider's terminator; an upstream that stops
        without one raises ``StreamInterrupted``. A ``whole`` call yields one chunk."""
        ...

    async def embed(self, call: EmbeddingCall) -> Embedded:
        """The vectors of the call's inputs, in order. Only adapters whose kind takes
        embeddings (``shared.capabilities``) are asked; ProviderError otherwise."""
        ...

    async def list_models(self) -> list[str]:
        """The model ids the provider's own ``/models`` lists; ProviderError when unreachable."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


class ProviderFactory(Protocol):
    def __call__(self, name: str, config: ProviderConfig) -> Provider: ...
