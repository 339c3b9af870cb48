"""The chat completion request every front end turns its input into, validated with limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.bounds import FiniteFloat, Int64, JsonObject, NonNegativeInt64
from shared.content import (
    ContentPart,
    ReasoningDetail,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from shared.content_checks import check_tool_calls_answered, check_tools

MAX_MESSAGES = 1000
MAX_MESSAGE_CHARS = 1_000_000
MAX_TOTAL_CHARS = 2_000_000
MAX_STOP_SEQUENCES = 4
MAX_FALLBACK_MODELS = 8
MAX_EXTRA_BODY_BYTES = 16_384
MAX_TOOLS = 128
# A deadline shorter than this cannot be met by any provider: refused (422), not left to time out.
MIN_TIMEOUT_S = 1.0

Role = Literal["system", "developer", "user", "assistant", "tool"]
StopSequence = Annotated[str, StringConstraints(min_length=1, max_length=256)]


@dataclass(frozen=True, slots=True)
class FrontEnds:
    """Where a ChatRequest field may be given, beside the native JSON body (which takes every
    field): a query parameter of the native GET stream (same name), a field of GraphQL's
    ``CompletionOptionsInput`` and of OpenAI's chat completion body, under these names. Each
    front end derives its fields from these declarations; only ``messages`` is parsed by each
    front end itself."""

    query: bool = False
    graphql: str | None = None
    openai: str | None = None


FrontEnd = Literal["query", "graphql", "openai"]


def _everywhere(graphql: str, openai: str | None = None, *, query: bool = True) -> FrontEnds:
    return FrontEnds(query=query, graphql=graphql, openai=openai)


class ChatMessage(BaseModel):
    """One message of the conversation: text or content parts; an assistant turn may carry
    tool calls (and the reasoning some providers need back); a ``tool`` message answers one."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    role: Role
    content: str | list[ContentPart] | None
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    tool_call_id: str | None = Field(None, min_length=1, max_length=256)
    tool_calls: list[ToolCall] | None = Field(None, min_length=1, max_length=MAX_TOOLS)
    # The assistant's reasoning as it came: DeepSeek wants its text back in a tool loop,
    # Anthropic and OpenRouter their signed or encrypted details.
    reasoning: str | None = Field(None, max_length=MAX_MESSAGE_CHARS)
    reasoning_details: list[ReasoningDetail] | None = None

    @model_validator(mode="before")
    @classmethod
    def _content_of_a_tool_call_turn(cls, data: Any) -> Any:
        """Only an assistant turn that calls tools may leave its content out."""
        if isinstance(data, dict) and "content" not in data and data.get("tool_calls"):
            return {**data, "content": None}
        return data

    @model_validator(mode="after")
    def _check_shape(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise PydanticCustomError(
                "invalid_request",
                "content is required (only an assistant turn with tool calls may leave it out)",
            )
        if self.tool_calls and self.role != "assistant":
            raise PydanticCustomError("invalid_request", "only assistant messages have tool_calls")
        if self.role == "tool" and self.tool_call_id is None:
            raise PydanticCustomError("invalid_request", "a tool message needs its tool_call_id")
        media = [p for p in self.parts if not isinstance(p, TextPart)]
        if media and self.role != "user":
            raise PydanticCustomError(
                "invalid_request", "only user messages may carry images, files or audio"
            )
        if len(self.text) > MAX_MESSAGE_CHARS:
            raise PydanticCustomError(
                "invalid_request", f"a message holds at most {MAX_MESSAGE_CHARS} characters"
            )
        return self

    @property
    def parts(self) -> list[ContentPart]:
        """The content as parts (a string is one text part)."""
        if self.content is None:
            return []
        if isinstance(self.content, str):
            return [TextPart(text=self.content)]
        return list(self.content)

    @property
    def text(self) -> str:
        """The text of the content, parts joined by newlines (separate paragraphs)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.parts if isinstance(p, TextPart))


class CacheControl(BaseModel):
    """How one request uses the response cache; never part of what the cache key hashes."""

    # LiteLLM's spellings ("no-cache", "no-store", "s-maxage", "ttl") are taken too, so clients
    # moving from its proxy keep their cache controls.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    no_cache: bool = Field(
        False,
        validation_alias=AliasChoices("no_cache", "no-cache"),
        description="do not answer from the cache (nor join a twin)",
    )
    no_store: bool = Field(
        False,
        validation_alias=AliasChoices("no_store", "no-store"),
        description="do not store this answer",
    )
    max_age_s: NonNegativeInt64 | None = Field(
        None,
        validation_alias=AliasChoices("max_age_s", "s-maxage"),
        description="accept a cached answer this old at most",
    )
    ttl_s: NonNegativeInt64 | None = Field(
        None,
        ge=1,
        validation_alias=AliasChoices("ttl_s", "ttl"),
        description="keep this answer this long (capped)",
    )


class ChatRequest(BaseModel):
    """A chat completion request: the conversation, the model and the sampling options."""

    model_config = ConfigDict(extra="forbid", strict=True)

    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    model: Annotated[str | None, _everywhere("model", "model")] = Field(
        None, min_length=1, max_length=256
    )
    temperature: Annotated[float | None, _everywhere("temperature", "temperature")] = Field(
        None, ge=0.0, le=2.0
    )
    top_p: Annotated[float | None, _everywhere("topP", "top_p")] = Field(None, ge=0.0, le=1.0)
    max_tokens: Annotated[int | None, _everywhere("maxTokens", "max_tokens")] = Field(
        None, ge=1, le=1_000_000
    )
    stop: Annotated[StopSequence | list[StopSequence] | None, _everywhere("stop", "stop")] = None
    presence_penalty: Annotated[
        float | None, _everywhere("presencePenalty", "presence_penalty")
    ] = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: Annotated[
        float | None, _everywhere("frequencyPenalty", "frequency_penalty")
    ] = Field(None, ge=-2.0, le=2.0)
    seed: Annotated[Int64 | None, _everywhere("seed", "seed")] = None
    user: Annotated[str | None, _everywhere("user", "user")] = Field(None, max_length=256)
    timeout_s: Annotated[FiniteFloat | None, _everywhere("timeoutS", "timeout_s")] = Field(
        None, ge=MIN_TIMEOUT_S, description="job deadline, capped by the server"
    )
    provider: Annotated[str | None, _everywhere("provider", "provider")] = Field(
        None, min_length=1, max_length=128, description="serve only from this provider"
    )
    models: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] | None,
        _everywhere("fallbackModels", "fallback_models"),
    ] = Field(None, max_length=MAX_FALLBACK_MODELS, description="models to fall back to, in order")
    tools: Annotated[list[Tool] | None, _everywhere("tools", "tools", query=False)] = Field(
        None, max_length=MAX_TOOLS, description="functions the model may call"
    )
    tool_choice: Annotated[
        ToolChoice | None, _everywhere("toolChoice", "tool_choice", query=False)
    ] = Field(None, description="none, auto, required, or a named function")
    parallel_tool_calls: Annotated[
        bool | None, _everywhere("parallelToolCalls", "parallel_tool_calls", query=False)
    ] = None
    reasoning_effort: Annotated[
        Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None,
        _everywhere("reasoningEffort", "reasoning_effort"),
    ] = Field(None, description="how hard a reasoning model thinks first")
    response_format: Annotated[
        ResponseFormat | None, _everywhere("responseFormat", "response_format", query=False)
    ] = Field(None, description="text, json_object, or json_schema (structured output)")
    extra_body: Annotated[
        JsonObject | None, _everywhere("extraBody", "extra_body", query=False)
    ] = Field(None, description="fields passed to the upstream request as they are")
    cache: Annotated[CacheControl | None, _everywhere("cache", "cache", query=False)] = Field(
        None, description="response cache control"
    )

    @model_validator(mode="after")
    def _check_sizes(self) -> ChatRequest:
        if isinstance(self.stop, list) and len(self.stop) > MAX_STOP_SEQUENCES:
            raise ValueError(f"stop takes at most {MAX_STOP_SEQUENCES} sequences")
        if sum(len(m.text) for m in self.messages) > MAX_TOTAL_CHARS:
            raise ValueError(f"messages hold more than {MAX_TOTAL_CHARS} characters in all")
        check_tool_calls_answered(self.messages)
        check_tools(self.tools, self.tool_choice)
        if self.extra_body and len(orjson.dumps(self.extra_body)) > MAX_EXTRA_BODY_BYTES:
            raise ValueError(f"extra_body is larger than {MAX_EXTRA_BODY_BYTES} bytes")
        return self

    def sampling_options(self) -> dict[str, object]:
        """The options a provider receives, leaving out what the client did not set."""
        return self.model_dump(
            exclude={
                "messages",
                "model",
                "timeout_s",
                "provider",
                "models",
                "extra_body",
                "cache",
                "tools",
                "tool_choice",
                "parallel_tool_calls",
                "response_format",
                "reasoning_effort",
            },
            exclude_none=True,
            mode="json",
        )


def front_end_fields(front_end: FrontEnd) -> dict[str, str]:
    """ChatRequest field name -> its name in ``front_end``, for every field it takes."""
    names: dict[str, str] = {}
    for name, info in ChatRequest.model_fields.items():
        declared = next((m for m in info.metadata if isinstance(m, FrontEnds)), None)
        if declared is None:
            continue
        if front_end == "query" and declared.query:
            names[name] = name
        elif front_end == "graphql" and declared.graphql is not None:
            names[name] = declared.graphql
        elif front_end == "openai" and declared.openai is not None:
            names[name] = declared.openai
    return names
