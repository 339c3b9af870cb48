"""What a route step can take, and what a request needs: the gateway sends a request only to
steps that can serve it (admission refuses it when none can; the worker skips the others).

Defaults are per adapter kind, then per known model, and the config overrides both: a
provider's ``capabilities`` (and ``model_capabilities`` per upstream model), or a route step's
own ``capabilities``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.config import ProviderConfig


class Capability(StrEnum):
    TOOLS = "tools"  # function tools and tool calls
    VISION = "vision"  # image parts
    FILES = "files"  # PDF file parts
    AUDIO = "audio"  # input_audio parts
    JSON_SCHEMA = "json_schema"  # response_format json_schema (structured output)
    REASONING = "reasoning"  # reasoning_effort: the model thinks before it answers
    EMBEDDINGS = "embeddings"  # an embeddings endpoint (the step's model embeds)


ALL = frozenset(Capability)
CHAT = ALL - {Capability.EMBEDDINGS}

KIND_DEFAULTS: Mapping[str, frozenset[Capability]] = {
    # An OpenAI-compatible server is assumed to be a modern chat model, its /embeddings served
    # too (a model that is not an embedding model is the server's to refuse); audio is opt-in.
    "openai_compatible": ALL - {Capability.AUDIO, Capability.REASONING},
    # DeepSeek takes no images, files or audio, and no json_schema (wire-tools §2); neither it
    # nor Anthropic serves embeddings.
    "deepseek": frozenset({Capability.TOOLS, Capability.REASONING}),
    "openrouter": ALL - {Capability.AUDIO},
    "anthropic": CHAT - {Capability.AUDIO},
    "demo": frozenset({Capability.EMBEDDINGS}),
}

# (adapter kind, upstream model prefix) -> capabilities, where a known model differs from its
# kind's default.
KNOWN_MODELS: Mapping[tuple[str, str], frozenset[Capability]] = {
    ("deepseek", "deepseek-chat"): frozenset({Capability.TOOLS}),
    ("openai_compatible", "gpt-4o-audio"): CHAT - {Capability.REASONING},
    ("openai_compatible", "o1"): CHAT - {Capability.AUDIO},
    ("openai_compatible", "o3"): CHAT - {Capability.AUDIO},
    ("openai_compatible", "o4"): CHAT - {Capability.AUDIO},
    ("openai_compatible", "gpt-5"): CHAT - {Capability.AUDIO},
    ("openai_compatible", "text-embedding"): frozenset({Capability.EMBEDDINGS}),
}


def capabilities_of(provider: ProviderConfig, model: str) -> frozenset[Capability]:
    """A provider model's capabilities: the config's word first, then the known model's,
    then the adapter kind's."""
    configured = provider.model_capabilities.get(model)
    if configured is not None:
        return frozenset(configured)
    if provider.capabilities is not None:
        return frozenset(provider.capabilities)
    for (kind, prefix), known in KNOWN_MODELS.items():
        if kind == provider.kind and model.startswith(prefix):
            return known
    return KIND_DEFAULTS.get(provider.kind, frozenset())
