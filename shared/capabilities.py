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

from shared.content import AudioPart, FilePart, ImagePart, JsonSchemaResponseFormat

if TYPE_CHECKING:
    from shared.chat import ChatRequest
    from shared.config import ProviderConfig


class Capability(StrEnum):
    TOOLS = "tools"  # function tools and tool calls
    VISION = "vision"  # image parts
    FILES = "files"  # PDF file parts
    AUDIO = "audio"  # input_audio parts
    JSON_SCHEMA = "json_schema"  # response_format json_schema (structured output)
    REASONING = "reasoning"  # reasoning_effort: the model thinks before it answers


ALL = frozenset(Capability)

KIND_DEFAULTS: Mapping[str, frozenset[Capability]] = {
    # An OpenAI-compatible server is assumed to be a modern chat model; audio is opt-in.
    "openai_compatible": ALL - {Capability.AUDIO, Capability.REASONING},
    # DeepSeek takes no images, files or audio, and no json_schema (wire-tools §2).
    "deepseek": frozenset({Capability.TOOLS, Capability.REASONING}),
    "openrouter": ALL - {Capability.AUDIO},
    "anthropic": ALL - {Capability.AUDIO},
    "demo": frozenset(),
}

# (adapter kind, upstream model prefix) -> capabilities, where a known model differs from its
# kind's default.
KNOWN_MODELS: Mapping[tuple[str, str], frozenset[Capability]] = {
    ("deepseek", "deepseek-chat"): frozenset({Capability.TOOLS}),
    ("openai_compatible", "gpt-4o-audio"): ALL - {Capability.REASONING},
    ("openai_compatible", "o1"): ALL - {Capability.AUDIO},
    ("openai_compatible", "o3"): ALL - {Capability.AUDIO},
    ("openai_compatible", "o4"): ALL - {Capability.AUDIO},
    ("openai_compatible", "gpt-5"): ALL - {Capability.AUDIO},
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


def required_by(request: ChatRequest) -> frozenset[Capability]:
    """What a step must take to serve ``request``."""
    needs: set[Capability] = set()
    if request.tools or any(m.tool_calls or m.role == "tool" for m in request.messages):
        needs.add(Capability.TOOLS)
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                needs.add(Capability.VISION)
            elif isinstance(part, FilePart):
                needs.add(Capability.FILES)
            elif isinstance(part, AudioPart):
                needs.add(Capability.AUDIO)
    if isinstance(request.response_format, JsonSchemaResponseFormat):
        needs.add(Capability.JSON_SCHEMA)
    if request.reasoning_effort is not None:
        needs.add(Capability.REASONING)
    return frozenset(needs)
