"""Anthropic Messages API: typed SSE events (reference §5.3), errors (§5.4), models (§5.5)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.datastructures import Headers

from .anthropic_blocks import answer_blocks, block_frames, event
from .anthropic_checks import check_request
from .engine import Frame, StreamPlan
from .scenario import Scenario
from .wire import (
    ERR_CONTEXT,
    ERR_STATUS,
    Generation,
    Problem,
    WireFormat,
    rand_alnum,
    request_id_like,
)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {
    401: "invalid x-api-key",
    402: (
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits."
    ),
    403: "Your API key does not have permission to use the specified resource.",
    404: "model: not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def request_id() -> str:
    return request_id_like()


class AnthropicFormat(WireFormat):
    name = "anthropic"
    default_model = "claude-sonnet-4-20250514"
    top_level_system = True

    def new_id(self) -> str:
        return "msg_01" + rand_alnum(22)

    def auth_present(self, headers: Headers) -> bool:
        return "x-api-key" in headers or "authorization" in headers

    def auth_ok(self, headers: Headers, key: str) -> bool:
        return headers.get("x-api-key") == key or headers.get("authorization") == f"Bearer {key}"

    def header_error(self, headers: Headers) -> str | None:
        return None if headers.get("anthropic-version") else "anthropic-version: header is required"

    def validate(self, body: dict[str, Any]) -> str | None:
        if not isinstance(body.get("model"), str):
            return "model: Field required"
        if not isinstance(body.get("max_tokens"), int) or isinstance(body.get("max_tokens"), bool):
            return "max_tokens: Field required"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: Field required"
        for message in messages:
            if isinstance(message, dict) and message.get("role") not in ("user", "assistant"):
                role = message.get("role")
                return (
                    f'messages: Unexpected role "{role}". The Messages API accepts a top-level '
                    f'`system` parameter, not "{role}" as an input message role.'
                )
        return None

    def reasoning_requested(self, body: dict[str, Any], model: str) -> bool:
        thinking = body.get("thinking")
        return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")

    def response_headers(self, response_id: str | None) -> dict[str, str]:
        reset = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "request-id": request_id(),
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "anthropic-ratelimit-requests-reset": reset,
        }

    def stop_reason(self, gen: Generation) -> str:
        return _STOP_REASONS.get(gen.finish_reason, gen.finish_reason)

    def tool_call_id(self, gen_model: str, index: int) -> str:
        return "toolu_01" + rand_alnum(22)

    def cache_mode(self, model: str) -> str:
        return "explicit"

    def thinking_shown(self, body: dict[str, Any]) -> bool:
        thinking = body.get("thinking")
        return not (isinstance(thinking, dict) and thinking.get("display") == "omitted")

    def check(
        self, body: dict[str, Any], headers: Headers, path: str, sc: Scenario
    ) -> Problem | None:
        return check_request(body, headers, sc, self.reasoning_requested(body, ""))

    def usage(self, gen: Generation, output_tokens: int) -> dict[str, Any]:
        cache = gen.cache
        return {
            "input_tokens": gen.prompt_tokens - cache.read - cache.write,  # the uncached tail
            "cache_creation_input_tokens": cache.write,
            "cache_read_input_tokens": cache.read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": cache.write_5m,
                "ephemeral_1h_input_tokens": cache.write_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    def stream_plan(self, gen: Generation) -> StreamPlan:
        message: dict[str, Any] = {
            "id": gen.response_id,
            "type": "message",
            "role": "assistant",
            "model": gen.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self.usage(gen, 1),
        }
        frames = [
            Frame("meta", event("message_start", {"type": "message_start", "message": message}))
        ]
        blocks = answer_blocks(gen)
        frames += block_frames(gen, blocks)
        delta = {"stop_reason": self.stop_reason(gen), "stop_sequence": None}
        frames.append(
            Frame(
                "usage",
                event(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": delta,
                        "usage": {"output_tokens": gen.completion_tokens},
                    },
                ),
            )
        )
        frames.append(Frame("done", event("message_stop", {"type": "message_stop"})))

        sc = gen.scenario
        error_type = sc.error_code if isinstance(sc.error_code, str) else "overloaded_error"
        error_message = sc.error_message or "Overloaded"
        # The documented mid-stream error, spaces and all.
        error_json = json.dumps(
            {"type": "error", "error": {"type": error_type, "message": error_message}}
        )
        error = b"event: error\ndata: " + error_json.encode() + b"\n\n"
        malformed = (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
            + str(len(blocks) - 1).encode()
            + b',"delta":{"type":"text_delta","text":"t\n\n'
        )
        return StreamPlan(frames, b": ping\n\n", [error], malformed)

    def completion(self, gen: Generation) -> dict[str, Any]:
        return {
            "id": gen.response_id,
            "type": "message",
            "role": "assistant",
            "model": gen.model,
            "content": answer_blocks(gen),
            "stop_reason": self.stop_reason(gen),
            "stop_sequence": None,
            "usage": self.usage(gen, gen.completion_tokens),
        }

    def models(self) -> dict[str, Any]:
        data = [
            {
                "type": "model",
                "id": "claude-sonnet-4-20250514",
                "display_name": "Claude Sonnet 4",
                "created_at": "2025-05-22T00:00:00Z",
            },
            {
                "type": "model",
                "id": "claude-3-5-sonnet-20241022",
                "display_name": "Claude 3.5 Sonnet (New)",
                "created_at": "2024-10-22T00:00:00Z",
            },
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }

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
    ) -> dict[str, Any]:
        type_ = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        if kind == ERR_CONTEXT:
            text = f"prompt is too long: {200000 + prompt_tokens} tokens > 200000 maximum"
        elif kind == ERR_STATUS:
            text = sc.error_message or _ERROR_MESSAGES.get(status, f"fake provider error {status}")
            if status == 404 and not sc.error_message:
                text = f"model: {model}"
            if isinstance(sc.error_code, str):
                type_ = sc.error_code
        else:
            text = message or _ERROR_MESSAGES.get(status, f"fake provider error {status}")
        return {
            "type": "error",
            "error": {"type": type_, "message": text},
            "request_id": request_id(),
        }
