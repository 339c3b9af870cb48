"""The Anthropic Messages request as it arrives (wire-tools §4-5), validated field by field so that
a refusal names the field by Anthropic's own path (``messages.1.content.0.source``).

The top level refuses unknown fields, as the API does; blocks, tools and the option objects ignore
fields this release does not know (Claude Code echoes back what the API added to its answers,
``caller`` on a ``tool_use`` for one), so a new field never breaks a client.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.chat import CacheControl as ResponseCacheControl


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class CacheMark(_Wire):
    """``cache_control``; ``scope`` and later fields are ignored (the gateway keeps the TTL)."""

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class TextBlock(_Wire):
    type: Literal["text"]
    text: str
    cache_control: CacheMark | None = None


class Base64Source(_Wire):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlSource(_Wire):
    type: Literal["url"]
    url: str


class FileSource(_Wire):
    """A file of Anthropic's Files API: nothing the gateway can send another provider."""

    type: Literal["file"]
    file_id: str


class PlainTextSource(_Wire):
    type: Literal["text"]
    media_type: Literal["text/plain"] = "text/plain"
    data: str


class ImageBlock(_Wire):
    type: Literal["image"]
    source: Annotated[Base64Source | UrlSource | FileSource, Field(discriminator="type")]
    cache_control: CacheMark | None = None


class ContentSource(_Wire):
    """A document given as content blocks (text and images)."""

    type: Literal["content"]
    content: str | list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]]


class DocumentBlock(_Wire):
    type: Literal["document"]
    source: Annotated[
        Base64Source | UrlSource | PlainTextSource | ContentSource | FileSource,
        Field(discriminator="type"),
    ]
    title: str | None = None
    cache_control: CacheMark | None = None


class ToolUseBlock(_Wire):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheMark | None = None


ResultPart = Annotated[TextBlock | ImageBlock | DocumentBlock, Field(discriminator="type")]


class ToolResultBlock(_Wire):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[ResultPart] | None = None
    is_error: bool | None = None
    cache_control: CacheMark | None = None


class ThinkingBlock(_Wire):
    type: Literal["thinking"]
    thinking: str
    signature: str = ""


class RedactedThinkingBlock(_Wire):
    type: Literal["redacted_thinking"]
    data: str


Block = Annotated[
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock,
    Field(discriminator="type"),
]
BLOCK_TYPES = (
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
)


class Message(_Wire):
    # "system": Claude Code sends system turns inside the conversation (2.1.33x).
    role: Literal["user", "assistant", "system"]
    content: str | list[Block]


class ToolDefinition(_Wire):
    """A client tool. ``defer_loading``, ``eager_input_streaming``, ``input_examples`` and
    ``allowed_callers`` are accepted and not carried (see ``shared.anthropic_format``)."""

    type: Literal["custom"] | None = None
    name: str
    description: str | None = None
    input_schema: dict[str, Any]
    cache_control: CacheMark | None = None
    strict: bool | None = None


class ToolChoice(_Wire):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Thinking(_Wire):
    type: Literal["enabled", "adaptive", "disabled"]
    budget_tokens: int | None = Field(None, ge=1024)
    display: str | None = None  # "summarized", "omitted", "updates"...


class JsonOutputFormat(_Wire):
    type: Literal["json_schema"]
    json_schema: dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, populate_by_name=True)


Effort = Literal["low", "medium", "high", "xhigh", "max"]


class OutputConfig(_Wire):
    effort: Effort | None = None
    format: JsonOutputFormat | None = None


class Metadata(_Wire):
    user_id: str | None = None


StopSequence = Annotated[str, StringConstraints(min_length=1)]


class MessagesBody(BaseModel):
    """``POST /v1/messages`` (and, without ``max_tokens``, ``/v1/messages/count_tokens``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    stream: bool | None = None
    system: str | list[TextBlock] | None = None
    stop_sequences: list[StopSequence] | None = None
    # Sampling: gone from the newest SDK's types, still taken by the API and older clients.
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=1)
    tools: list[dict[str, Any]] | None = None  # checked one by one (server tools are refused)
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    metadata: Metadata | None = None
    cache_control: CacheMark | None = None
    # Accepted and not carried: they change nothing a gateway-routed model does.
    service_tier: str | None = None
    speed: str | None = None
    inference_geo: str | None = None
    diagnostics: Any = None
    user_profile_id: str | None = None
    workspace_id: str | None = None
    context_management: Any = None
    container: Any = None
    tags: Any = None
    # Refused when given (server-side features the gateway cannot run).
    mcp_servers: list[Any] | None = None
    safeguards: Any = None
    # The gateway's own options, as the OpenAI-compatible API takes them.
    fallback_models: list[str] | None = None
    provider: str | None = None
    cache: ResponseCacheControl | None = None
    timeout_s: float | None = None
