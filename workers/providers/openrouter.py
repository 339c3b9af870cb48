"""OpenRouter: OpenAI-compatible Chat Completions with OpenRouter's traps (provider-wire.md §4).

* ``: OPENROUTER PROCESSING`` comments, several before the first data (the SSE decoder drops them);
* usage arrives one frame after the finish chunk, with ``choices: []`` or one empty-delta choice;
* an error inside a 200 stream is a chunk with a top-level ``error`` (``code`` an int status or a
  string) and ``finish_reason: "error"``;
* reasoning is in ``delta.reasoning``;
* its own routing fields (``models``, ``provider``, ``route``, ``reasoning`` ...) arrive in
  ``call.extra_body`` and reach the upstream body unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.content import ReasoningDetail
from shared.errors import ProviderError, ProviderUnavailable
from workers.providers.base import Chunk
from workers.providers.chat_body import Dialect
from workers.providers.http_errors import error_message
from workers.providers.openai_compatible import (
    ChatCompletionsParser,
    OpenAICompatibleProvider,
)
from workers.providers.sse import SSEFrame

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# Pieces of a streamed reasoning detail that are joined; its other fields are replaced.
JOINED = ("text", "summary", "data")
# Before 2025 OpenRouter passed the upstream's raw finish reason through (e.g. Claude's end_turn).
RAW_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}


class OpenRouterOptions(BaseModel):
    """``options`` of an ``openrouter`` provider: the app attribution headers."""

    model_config = ConfigDict(extra="forbid")

    app_url: str | None = Field(None, description="sent as HTTP-Referer; identifies the app")
    app_title: str | None = Field(None, description="sent as X-OpenRouter-Title")
    app_categories: list[str] = Field(
        default_factory=list, description="sent as X-OpenRouter-Categories"
    )


class OpenRouterParser(ChatCompletionsParser):
    """Chat Completions chunks with OpenRouter's error chunk, raw finish reasons and streamed
    ``reasoning_details``: pieces that repeat ``type``, ``format`` and ``index`` (wire-tools §3),
    merged per index (text, summary and data joined, the last signature kept) and handed on
    whole once the answer ends."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider)
        self._details: dict[int, dict[str, Any]] = {}

    def merge(self, frames: list[SSEFrame]) -> tuple[Chunk, bool]:
        merged, done = super().merge(frames)
        if done or merged.finish_reason:
            merged = self.ended(merged)
        return merged, done

    def ended(self, merged: Chunk) -> Chunk:
        if self._details:
            merged.reasoning_details = [
                ReasoningDetail.model_validate(d) for _, d in sorted(self._details.items())
            ]
            self._details = {}
        return merged

    def merge_delta(self, merged: Chunk, delta: dict[str, Any]) -> None:
        for piece in delta.get("reasoning_details") or ():
            if isinstance(piece, dict):
                _merge_detail(self._details, piece)

    def merge_payload(self, merged: Chunk, payload: dict[str, Any]) -> None:
        for choice in payload.get("choices") or ():
            # A choice-level error (or finish_reason "error") without the top-level `error`.
            if choice.get("finish_reason") == "error" and not payload.get("error"):
                raise self.stream_error({"error": choice.get("error") or {}})
        super().merge_payload(merged, payload)
        if merged.finish_reason in RAW_FINISH_REASONS:
            merged.finish_reason = RAW_FINISH_REASONS[merged.finish_reason]

    def stream_error(self, payload: dict[str, Any]) -> ProviderError:
        error = payload.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        # An int code is the HTTP status the error would have had; keep it for the record.
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        return ProviderUnavailable(
            f"{self.provider} reported an error mid-stream ({code}): {error_message(payload)}",
            provider=self.provider,
            upstream_status=status,
        )


def _merge_detail(details: dict[int, dict[str, Any]], piece: dict[str, Any]) -> None:
    index = piece.get("index") if isinstance(piece.get("index"), int) else len(details)
    assert isinstance(index, int)
    detail = details.setdefault(index, {})
    for key, value in piece.items():
        if key in JOINED and isinstance(value, str):
            detail[key] = detail.get(key, "") + value
        elif key == "signature":
            if value:
                detail[key] = value
        elif value is not None:
            detail[key] = value


class OpenRouterProvider(OpenAICompatibleProvider):
    """``POST {base_url}/chat/completions`` at openrouter.ai by default, with attribution.

    It honours ``cache_control`` (for the providers that cache on marks) and wants each
    assistant turn's ``reasoning_details`` back unchanged."""

    default_base_url = DEFAULT_BASE_URL
    dialect = Dialect(cache_marks=True, reasoning_text_field="reasoning", reasoning_details=True)

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.options = OpenRouterOptions.model_validate(config.options)
        super().__init__(name, config)

    def adapter_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.options.app_url:
            headers["HTTP-Referer"] = self.options.app_url
        if self.options.app_title:
            headers["X-OpenRouter-Title"] = self.options.app_title
        if self.options.app_categories:
            headers["X-OpenRouter-Categories"] = ",".join(self.options.app_categories)
        return headers

    def reasoning_fields(self, request: ChatRequest) -> dict[str, Any]:
        effort = request.reasoning_effort
        return {} if effort is None else {"reasoning": {"effort": effort}}

    def chat_parser(self) -> ChatCompletionsParser:
        return OpenRouterParser(self.name)
