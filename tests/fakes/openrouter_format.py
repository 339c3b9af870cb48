"""OpenRouter chat completions: reference §4.2-§4.4 (comments, usage after finish, error chunk)."""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import Headers

from .chat_checks import check_tools
from .chat_history import check_history
from .chat_tools import message_tool_calls, tool_call_deltas
from .engine import Frame, StreamPlan
from .openrouter_extras import (
    check_anthropic_model,
    is_anthropic,
    merged_details,
    streamed_details,
)
from .scenario import Scenario
from .wire import (
    DONE,
    ERR_AUTH,
    ERR_CONTEXT,
    ERR_STATUS,
    Generation,
    Problem,
    WireFormat,
    chat_malformed,
    rand_alnum,
    sse_data,
)

_ANTHROPIC_STOPS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}

# ---------------------------------------------------------------------------------------------
# OpenRouter
# ---------------------------------------------------------------------------------------------
_OPENROUTER_STATUS: dict[int, tuple[str, dict[str, Any] | None]] = {
    400: ("Bad Request", None),
    401: ("User not found.", None),
    402: (
        "This request requires more credits, or fewer max_tokens. You requested up to 16384 "
        "tokens, but can only afford 3324. To increase, visit "
        "https://openrouter.ai/settings/credits and add more credits",
        None,
    ),
    403: (
        "Request blocked: prompt injection patterns detected",
        {"patterns": ["ignore all previous instructions"]},
    ),
    408: ("Request timed out", {"error_type": "timeout"}),
    429: ("Rate limit exceeded", {"error_type": "rate_limit_exceeded"}),
    500: ("Internal Server Error", {"error_type": "server"}),
    502: ("Provider returned error", {"provider_name": "FakeProvider", "raw": "upstream error"}),
    503: ("No endpoints found that can handle the requested parameters.", None),
}


class OpenRouterFormat(WireFormat):
    name = "openrouter"
    default_model = "openrouter/auto"
    model_required = False
    models_need_auth = False
    provider = "FakeProvider"

    def new_id(self) -> str:
        return f"gen-{int(time.time())}-{rand_alnum(20)}"

    def response_headers(self, response_id: str | None) -> dict[str, str]:
        return {"x-generation-id": response_id} if response_id else {}

    def error_headers(self, status: int) -> dict[str, str]:
        if status != 429:
            return {}
        reset = str(int(time.time() * 1000) + 60_000)
        return {"x-ratelimit-limit": "20", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}

    def model_of(self, body: dict[str, Any]) -> str:
        models = body.get("models")
        if (
            not isinstance(body.get("model"), str)
            and isinstance(models, list)
            and models
            and isinstance(models[0], str)
        ):
            return models[0]  # the fallback list: the fake always "uses" the first entry
        return super().model_of(body)

    def include_usage(self, body: dict[str, Any]) -> bool:
        return True  # OpenRouter always sends usage (2026: the opt-in flags are deprecated no-ops)

    def reasoning_requested(self, body: dict[str, Any], model: str) -> bool:
        reasoning = body.get("reasoning")
        if not isinstance(reasoning, dict):
            return body.get("include_reasoning") is True
        return reasoning.get("enabled") is not False and reasoning.get("exclude") is not True

    def tool_call_id(self, gen_model: str, index: int) -> str:
        # ids pass through from the model's provider: Anthropic's are toolu_...
        return (
            "toolu_01" + rand_alnum(22)
            if is_anthropic(gen_model)
            else super().tool_call_id(gen_model, index)
        )

    def cache_mode(self, model: str) -> str:
        return "explicit" if is_anthropic(model) else "automatic"

    def check(
        self, body: dict[str, Any], headers: Headers, path: str, sc: Scenario
    ) -> Problem | None:
        model = self.model_of(body)
        return (
            check_tools(body, "openrouter")
            or check_history(body, "openrouter")
            or check_anthropic_model(body, model, self.reasoning_requested(body, model))
        )

    def usage(self, gen: Generation) -> dict[str, Any]:
        cache = gen.cache
        uncached = gen.prompt_tokens - cache.read - cache.write
        # Anthropic-style cache prices: writes 1.25x (5m) or 2x (1h), reads 0.1x.
        prompt_cost = (
            uncached + 0.1 * cache.read + 1.25 * cache.write_5m + 2 * cache.write_1h
        ) * 3e-6
        cost = round(prompt_cost + gen.completion_tokens * 15e-6, 10)
        return {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {
                "cached_tokens": cache.read,
                "cache_write_tokens": cache.write,
            },
            "completion_tokens_details": {"reasoning_tokens": len(gen.reasoning)},
            "cost": cost,
            "is_byok": False,
        }

    def _native(self, gen: Generation, finish: str | None) -> str | None:
        if finish is None or not is_anthropic(gen.model):
            return finish
        return _ANTHROPIC_STOPS.get(finish, finish)

    def _chunk(
        self, gen: Generation, delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": gen.response_id,
            "provider": self.provider,
            "model": gen.model,
            "object": "chat.completion.chunk",
            "created": gen.created,
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish,
                    "native_finish_reason": self._native(gen, finish),
                    "logprobs": None,
                }
            ],
        }

    def stream_plan(self, gen: Generation) -> StreamPlan:
        sc = gen.scenario
        # Every delta repeats the role (and, in 2026 captures, reasoning fields).
        base: dict[str, Any] = {"role": "assistant", "content": ""}
        quiet: dict[str, Any] = {"reasoning": None, "reasoning_details": []}

        def frame(kind: str, delta: dict[str, Any], finish: str | None = None) -> Frame:
            return Frame(kind, sse_data(self._chunk(gen, base | delta, finish)))

        details = streamed_details(gen)
        frames = [
            frame("reasoning", {"reasoning": d.get("text", ""), "reasoning_details": [d]})
            for d in details[: len(gen.reasoning)]
        ]
        frames += [
            frame("meta", {"reasoning": "", "reasoning_details": [d]})
            for d in details[len(gen.reasoning) :]
        ]
        frames += [frame("content", {"content": t} | quiet) for t in gen.content]
        frames += [
            frame("tool", quiet | {"tool_calls": entries})
            for entries in tool_call_deltas(sc, gen.tool_calls)
        ]
        finish_extra: dict[str, Any] = {}
        if gen.attachments:
            finish_extra["annotations"] = gen.attachments
        frames.append(frame("finish", quiet | finish_extra, gen.finish_reason))
        # Usage always arrives one frame AFTER the finish chunk, in one of two observed forms.
        usage_chunk = self._chunk(gen, {"role": "assistant", "content": ""})
        if sc.usage_form == "empty_choices":
            usage_chunk["choices"] = []
        usage_chunk["usage"] = self.usage(gen)
        frames.append(Frame("usage", sse_data(usage_chunk)))
        frames.append(Frame("done", DONE))

        code: object = sc.error_code if sc.error_code is not None else "server_error"
        error: dict[str, Any] = {
            "code": code,
            "message": sc.error_message or "Provider disconnected unexpectedly",
        }
        if isinstance(code, int) and code in _OPENROUTER_STATUS and _OPENROUTER_STATUS[code][1]:
            error["metadata"] = _OPENROUTER_STATUS[code][1]
        error_chunk = {
            "id": gen.response_id,
            "object": "chat.completion.chunk",
            "created": gen.created,
            "model": gen.model,
            "provider": self.provider,
            "error": error,
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }
        error_frames = [sse_data(error_chunk)] + ([DONE] if sc.done_after_error else [])
        return StreamPlan(
            frames, b": OPENROUTER PROCESSING\n\n", error_frames, chat_malformed(gen.response_id)
        )

    def completion(self, gen: Generation) -> dict[str, Any]:
        finish = gen.finish_reason
        message: dict[str, Any] = {
            "role": "assistant",
            "content": gen.text if gen.content or not gen.tool_calls else None,
            "refusal": None,
            "reasoning": gen.reasoning_text if gen.reasoning else None,
        }
        details = merged_details(gen, streamed_details(gen))
        if details:
            message["reasoning_details"] = details
        if gen.tool_calls:
            message["tool_calls"] = message_tool_calls(gen.scenario, gen.tool_calls)
        if gen.attachments:
            message["annotations"] = gen.attachments
        return {
            "id": gen.response_id,
            "provider": self.provider,
            "model": gen.model,
            "object": "chat.completion",
            "created": gen.created,
            "choices": [
                {
                    "logprobs": None,
                    "finish_reason": finish,
                    "native_finish_reason": self._native(gen, finish),
                    "index": 0,
                    "message": message,
                }
            ],
            "usage": self.usage(gen),
        }

    def models(self) -> dict[str, Any]:
        def model(
            slug: str, name: str, prompt: str, completion: str, context: int
        ) -> dict[str, Any]:
            return {
                "id": slug,
                "canonical_slug": slug,
                "name": name,
                "created": 1729555200,
                "description": f"{name} (fake provider fixture)",
                "context_length": context,
                "architecture": {
                    "input_modalities": ["text"],
                    "output_modalities": ["text"],
                    "tokenizer": "Other",
                    "instruct_type": None,
                    "modality": "text->text",
                },
                "pricing": {
                    "prompt": prompt,
                    "completion": completion,
                    "request": "0",
                    "image": "0",
                },
                "top_provider": {
                    "context_length": context,
                    "max_completion_tokens": 8192,
                    "is_moderated": False,
                },
                "per_request_limits": None,
                "supported_parameters": ["max_tokens", "temperature", "stop", "tools", "reasoning"],
            }

        data = [
            model(
                "anthropic/claude-3.5-sonnet",
                "Anthropic: Claude 3.5 Sonnet",
                "0.000003",
                "0.000015",
                200000,
            ),
            model("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", "0.00000015", "0.0000006", 128000),
        ]
        return {"data": data, "total_count": len(data), "links": {"next": None}}

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
        text, metadata = _OPENROUTER_STATUS.get(status, (f"fake provider error {status}", None))
        code: object = status
        if kind == ERR_AUTH:
            return {
                "error": {
                    "message": "User not found." if auth_present else "No auth credentials found",
                    "code": 401,
                }
            }
        if kind == ERR_CONTEXT:
            text = (
                "This endpoint's maximum context length is 131072 tokens. However, you requested "
                "about "
                f"{131072 + prompt_tokens} tokens ({prompt_tokens} of text input, "
                "0 of tool input, 131072 in the output)."
            )
            metadata = {"error_type": "context_length_exceeded"}
        elif kind == ERR_STATUS:
            text = sc.error_message or text
            code = sc.error_code if sc.error_code is not None else status
        elif message:
            text, metadata = message, None
        error: dict[str, Any] = {"code": code, "message": text}
        if metadata:
            error["metadata"] = metadata
        body: dict[str, Any] = {"error": error}
        if status == 402:
            body["user_id"] = "user_fake0001"
        return body
