"""What every wire format implements, plus small helpers shared by the formats."""

from __future__ import annotations

import secrets
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from starlette.datastructures import Headers

from .engine import StreamPlan
from .scenario import Scenario

_ALNUM = string.ascii_letters + string.digits

# Kinds of error a format must be able to render (see `WireFormat.error_body`).
ERR_AUTH = "auth"  # missing or wrong key → 401
ERR_INVALID = "invalid"  # malformed request → 400 (message given)
ERR_STATUS = "status"  # scenario `status`
ERR_CONTEXT = "context_length"  # scenario `context_length` → 400


def rand_alnum(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def sse_data(obj: object) -> bytes:
    """``data: <compact json>\\n\\n`` (orjson keeps key order and emits no spaces)."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"


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

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def completion_tokens(self) -> int:
        return len(self.content) + len(self.reasoning)

    @property
    def cached_tokens(self) -> int:
        return min(self.scenario.cached_tokens, self.prompt_tokens)


class WireFormat(ABC):
    name: ClassVar[str]
    default_model: ClassVar[str]
    model_required: ClassVar[bool] = True
    models_need_auth: ClassVar[bool] = True

    # --- request side -------------------------------------------------------------------------
    def auth_present(self, headers: Headers) -> bool:
        return "authorization" in headers

    def auth_ok(self, headers: Headers, key: str) -> bool:
        return headers.get("authorization") == f"Bearer {key}"

    def header_error(self, headers: Headers) -> str | None:
        """A 400 message when a required header is missing (Anthropic's anthropic-version)."""
        return None

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

    def system_text(self, body: dict[str, Any]) -> object:
        return None

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
