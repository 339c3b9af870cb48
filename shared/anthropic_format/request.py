"""An Anthropic ``POST /v1/messages`` body as the gateway's ChatRequest.

Mapped: ``system``, ``messages`` (``shared.anthropic_format.conversation``), ``max_tokens``,
``stop_sequences`` (at most four, as every front end), ``temperature``, ``top_p``, ``tools``
and ``tool_choice`` (``shared.anthropic_format.tools``), ``metadata.user_id`` (the ``user``; one
longer than 256 characters goes as its SHA-256), ``output_config.format`` (structured output),
and the gateway's own ``fallback_models``, ``provider``, ``cache`` and ``timeout_s`` (and the
``X-Gateway-*`` headers) as on the OpenAI-compatible API.

Some fields mean something only to the Messages API. They go to the upstream unchanged (in
``extra_body``) when every step of the route is an Anthropic adapter, and are dropped otherwise:
``top_k``, ``thinking`` as sent (budget, ``adaptive``, ``display``), ``output_config.effort`` and
the top-level ``cache_control``. ``context_management`` and the other fields that travel with
an ``anthropic-beta`` header are accepted and dropped everywhere: the gateway forwards no beta
header, and the API refuses such a field without its header.

Reasoning, for any other route (``reasoning_effort``): ``thinking: enabled`` asks for a model
that reasons (its budget picks the effort: up to 2048 tokens low, 8192 medium, 16384 high, more
xhigh; ``output_config.effort`` wins), so a route that cannot is refused with
``capability_unsupported``. ``adaptive`` (what Claude Code sends), ``disabled`` (``none``) and
an ``effort`` alone are preferences: they reach a route whose every step reasons, and are
dropped for one that does not, rather than making its steps skip the request.

Unknown top-level fields are refused (``unknown_parameter``, in the API's words); server tools,
``mcp_servers`` and ``safeguards`` with ``unsupported_parameter`` (Claude Code retries without
``safeguards`` when the refusal names it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from shared.anthropic_format.conversation import UnsupportedContent, conversation
from shared.anthropic_format.paths import body_path, in_anthropic_terms
from shared.anthropic_format.tools import UnsupportedTool, tool_choice_fields, tools_field
from shared.anthropic_format.wire import BLOCK_TYPES, Effort, MessagesBody, Thinking
from shared.chat import MAX_EXTRA_BODY_BYTES, ChatRequest
from shared.errors import GatewayError, InvalidRequest, error_class_for, most_specific
from shared.openai_format.errors import UnknownParameter, param_from_loc
from shared.openai_format.extras import given_fields

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
MAX_USER_CHARS = 256
THINKING_ON = ("enabled", "adaptive")
# Thinking budget -> effort, the inverse of the Anthropic adapter's effort -> budget.
_BUDGET_EFFORTS: tuple[tuple[int, ReasoningEffort], ...] = (
    (2048, "low"),
    (8192, "medium"),
    (16384, "high"),
)
_EFFORTS: dict[Effort, ReasoningEffort] = {
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "xhigh",
}


@dataclass(frozen=True, slots=True)
class Upstream:
    """What a request's route speaks: ``native`` when every step is an Anthropic adapter,
    ``reasons`` when every step takes ``reasoning_effort``, ``thinks`` when a step turns
    thinking on by itself (its own ``extra_body``)."""

    native: bool
    reasons: bool
    thinks: bool = False


@dataclass(frozen=True, slots=True)
class ReasoningAsk:
    """How hard the client wants the model to think; ``required`` when it must (``enabled``)."""

    effort: ReasoningEffort | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """A parsed Messages body: the chat request without what depends on its route (see
    ``for_upstream``), and where each of its messages came from in the body."""

    chat: ChatRequest
    stream: bool
    reasoning: ReasoningAsk
    native_fields: dict[str, Any]
    origins: tuple[str, ...]

    def for_upstream(self, upstream: Upstream) -> ChatRequest:
        """The request as the route takes it."""
        update: dict[str, Any] = {}
        if upstream.native:
            if self.native_fields:
                update["extra_body"] = {**(self.chat.extra_body or {}), **self.native_fields}
        elif self.reasoning.effort is not None and (self.reasoning.required or upstream.reasons):
            update["reasoning_effort"] = self.reasoning.effort
        extra = update.get("extra_body")
        if extra is not None and len(orjson.dumps(extra)) > MAX_EXTRA_BODY_BYTES:
            raise InvalidRequest(
                f"the fields passed to the upstream are larger than {MAX_EXTRA_BODY_BYTES} bytes",
                details={"param": "thinking"},
            )
        return self.chat.model_copy(update=update) if update else self.chat

    def signs_thinking(self, upstream: Upstream) -> bool:
        """The answer's thinking will be signed: an Anthropic route, thinking on."""
        thinking = self.native_fields.get("thinking")
        if not upstream.native:
            return False
        if thinking is None:
            return upstream.thinks
        return bool(thinking.get("type") in THINKING_ON)

    def in_body_terms(self, error: GatewayError) -> GatewayError:
        """A refusal of the chat request, naming the Anthropic field it came from."""
        return in_anthropic_terms(error, self.origins)


def messages_request(
    body: Any, *, headers: Mapping[str, str] | None = None, counting: bool = False
) -> MessagesRequest:
    """The request a Messages body asks for (``counting``: a count_tokens body, which has no
    ``max_tokens``). Raises InvalidRequest (or a subclass) naming the field at fault."""
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", details={"param": None})
    given = given_fields(body, headers)
    try:
        wire = MessagesBody.model_validate(given)
    except ValidationError as exc:
        raise _refusal(exc) from exc
    if wire.max_tokens is None and not counting:
        raise InvalidRequest("max_tokens: Field required", details={"param": "max_tokens"})
    for name in ("mcp_servers", "safeguards"):
        if getattr(wire, name):
            raise UnsupportedTool(
                f"{name}: not supported by this gateway; send the request without {name}",
                details={"param": name},
            )
    talk = conversation(wire.system, wire.messages)
    fields: dict[str, Any] = {
        "messages": talk.messages,
        "model": wire.model,
        "max_tokens": wire.max_tokens,
        "stop": wire.stop_sequences,
        "temperature": wire.temperature,
        "top_p": wire.top_p,
        "tools": tools_field(wire.tools),
        **tool_choice_fields(wire.tool_choice),
        "models": wire.fallback_models,
        "provider": wire.provider,
        "cache": wire.cache,
        "timeout_s": wire.timeout_s,
    }
    user = wire.metadata.user_id if wire.metadata else None
    if user:
        fields["user"] = user if len(user) <= MAX_USER_CHARS else _digest(user)
    output = wire.output_config
    if output is not None and output.format is not None:
        schema = {"name": "output", "schema": output.format.json_schema}
        fields["response_format"] = {"type": "json_schema", "json_schema": schema}
    try:
        chat = ChatRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise in_anthropic_terms(_chat_refusal(exc), talk.origins) from exc
    except GatewayError as error:  # a whole-conversation check (a result answering no call)
        raise in_anthropic_terms(error, talk.origins) from error
    return MessagesRequest(
        chat=chat,
        stream=bool(wire.stream),
        reasoning=_reasoning(wire.thinking, output.effort if output else None),
        native_fields=_native_fields(wire),
        origins=tuple(talk.origins),
    )


def _reasoning(thinking: Thinking | None, effort: Effort | None) -> ReasoningAsk:
    asked = _EFFORTS[effort] if effort is not None else None
    if thinking is None or thinking.type == "adaptive":
        return ReasoningAsk(asked)
    if thinking.type == "disabled":
        return ReasoningAsk("none")
    budget = thinking.budget_tokens
    if budget is None:
        raise InvalidRequest(
            "thinking.budget_tokens: Field required", details={"param": "thinking.budget_tokens"}
        )
    fallback: ReasoningEffort = "xhigh"
    by_budget = next((e for limit, e in _BUDGET_EFFORTS if budget <= limit), fallback)
    return ReasoningAsk(asked or by_budget, required=True)


def _native_fields(wire: MessagesBody) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if wire.top_k is not None:
        fields["top_k"] = wire.top_k
    if wire.thinking is not None:
        fields["thinking"] = wire.thinking.model_dump(exclude_none=True)
    if wire.output_config is not None and wire.output_config.effort is not None:
        fields["output_config"] = {"effort": wire.output_config.effort}
    if wire.cache_control is not None:
        fields["cache_control"] = wire.cache_control.model_dump(exclude_none=True)
    return fields


def _digest(user: str) -> str:
    return hashlib.sha256(user.encode()).hexdigest()


def _refusal(exc: ValidationError) -> InvalidRequest:
    """A body the Messages API itself would refuse, in its words where they are known."""
    errors = exc.errors()
    first = most_specific(errors)
    path = body_path(first["loc"])
    details = {"param": path or None}
    if first["type"] == "extra_forbidden":
        return UnknownParameter(f"{path}: Extra inputs are not permitted", details=details)
    if first["type"] == "union_tag_invalid" and path.startswith("messages."):
        tag = (first.get("ctx") or {}).get("tag", "?")
        return UnsupportedContent(
            f"{path}: blocks of type {tag!r} are not supported here (the gateway takes "
            f"{', '.join(BLOCK_TYPES)})",
            details=details,
        )
    error = error_class_for(first["type"], InvalidRequest)
    return error(f"{path}: {first['msg']}" if path else first["msg"], details=details)


def _chat_refusal(exc: ValidationError) -> InvalidRequest:
    """A refusal of the chat request (a bad data: URL, a bad tool schema...), its param the
    gateway's field (mapped to Anthropic's by the caller)."""
    first = most_specific(exc.errors())
    param = param_from_loc(list(first["loc"])) or ""
    error = error_class_for(first["type"], InvalidRequest)
    return error(f"{param}: {first['msg']}" if param else first["msg"], details={"param": param})
