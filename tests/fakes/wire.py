"""What every wire format implements, plus small helpers shared by the formats."""

from __future__ import annotations

import secrets
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from starlette.datastructures import Headers

from .caching import CacheUsage
from .engine import StreamPlan
from .scenario import Scenario
from .tools import ToolCall

_ALNUM = string.ascii_letters + string.digits

# Kinds of error a format must be able to render (see `WireFormat.error_body`).
ERR_AUTH = "auth"  # missing or wrong key → 401
ERR_INVALID = "invalid"  # malformed request → 400 (message given)
ERR_STATUS = "status"  # scenario `status`
ERR_CONTEXT = "context_length"  # scenario `context_length` → 400


def rand_alnum(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def request_id_like() -> str:
    """An Anthropic request id (``req_011...``)."""
    return "req_011" + rand_alnum(21)


def sse_data(obj: object) -> bytes:
    """``data: <compact json>\\n\\n`` (orjson keeps key order and emits no spaces)."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class Problem:
    """A request the provider refuses. `body` replaces the format's usual error body when the
    provider's answer has a shape of its own."""

    message: str
    param: str | None = None
    code: object = None
    status: int = 400
    body: dict[str, Any] | None = None


@dataclass
class Generation:
    """The completion a request gets: computed once, rendered by a format."""

    model: str
    scenario: Scenario
    body: dict[str, Any]
    prompt_tokens: int
    reasoning: list[str]
    content: list[str]
    reasoning_mode: bool  # the request asked for reasoning (affects DeepSeek framing)
    include_usage: bool
    response_id: str
    created: int
    tool_calls: list[ToolCall] = field(default_factory=list)
    cache: CacheUsage = field(default_factory=CacheUsage)
    # Anthropic thinking: `display: "omitted"` sends the block with an empty text
    thinking_shown: bool = True
    attachments: list[dict[str, Any]] = field(default_factory=list)  # file parts (OpenRouter)

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def completion_tokens(self) -> int:
        return len(self.content) + len(self.reasoning) + sum(c.tokens for c in self.tool_calls)

    @property
    def cached_tokens(self) -> int:
        return self.cache.read

    @property
    def finish_reason(self) -> str:
        return self.scenario.finish(bool(self.tool_calls))


class WireFormat(ABC):
    name: ClassVar[str]
    default_model: ClassVar[str]
    model_required: ClassVar[bool] = True
    top_level_system: ClassVar[bool] = False  # Anthropic's `system` field counts as prompt
    models_need_auth: ClassVar[bool] = True

    # --- request side -------------------------------------------------------------------------
    def auth_present(self, headers: Headers) -> bool:
        return "authorization" in headers

    def auth_ok(self, headers: Headers, key: str) -> bool:
        return headers.get("authorization") == f"Bearer {key}"

    def header_error(self, headers: Headers) -> str | None:
        """A 400 message when a required header is missing (Anthropic's anthropic-version)."""
        return None

    def check(
        self, body: dict[str, Any], headers: Headers, path: str, sc: Scenario
    ) -> Problem | None:
        """Deeper request checks (tools, history, parts, output formats) as the provider makes
        them; `path` tells DeepSeek's /beta endpoint apart."""
        return None

    def tool_call_id(self, gen_model: str, index: int) -> str:
        return "call_" + rand_alnum(24)

    def cache_mode(self, model: str) -> str:
        """explicit: cache_control breakpoints; automatic: every message-boundary prefix."""
        return "automatic"

    def thinking_shown(self, body: dict[str, Any]) -> bool:
        return True

    def validate(self, body: dict[str, Any]) -> str | None:
        """A 400 message when the body is not a valid request for this provider."""
        if self.model_required and not isinstance(body.get("model"), str):
            return "you must provide a model parameter"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: field required (a non-empty array)"
        return None

    def model_of(self, body: dict[str, Any]) -> str:
        model = body.get("model")
        return model if isinstance(model, str) and model else self.default_model

    def include_usage(self, body: dict[str, Any]) -> bool:
        options = body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    def reasoning_requested(self, body: dict[str, Any], model: str) -> bool:
        return False

    @abstractmethod
    def new_id(self) -> str: ...

    # --- response side ------------------------------------------------------------------------
    def response_headers(self, response_id: str | None) -> dict[str, str]:
        return {}

    def error_headers(self, status: int) -> dict[str, str]:
        return {}

    def leading_blank_lines(self, sc: Scenario) -> int:
        return 0

    @abstractmethod
    def error_body(
        self,
        status: int,
        *,
        kind: str,
        sc: Scenario,
        model: str,
        message: str | None = None,
        prompt_tokens: int = 0,
        auth_present: bool = True,
    ) -> dict[str, Any]: ...

    def problem_body(self, problem: Problem, sc: Scenario, model: str) -> dict[str, Any]:
        if problem.body is not None:
            return problem.body
        return self.error_body(
            problem.status, kind=ERR_INVALID, sc=sc, model=model, message=problem.message
        )

    @abstractmethod
    def stream_plan(self, gen: Generation) -> StreamPlan: ...

    @abstractmethod
    def completion(self, gen: Generation) -> dict[str, Any]: ...

    @abstractmethod
    def models(self) -> dict[str, Any]: ...


def oai_error(
    message: str, type_: str, param: str | None = None, code: object = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def chat_malformed(response_id: str) -> bytes:
    # A complete SSE event whose JSON is cut short.
    return (
        b'data: {"id":"'
        + response_id.encode()
        + b'","object":"chat.completion.chunk","choices":[{"delta":{"content":"t\n\n'
    )
