"""OpenRouter chat completions: reference §4.2-§4.4 (comments, usage after finish, error chunk)."""

from __future__ import annotations

import time
from typing import Any

from .engine import Frame, StreamPlan
from .scenario import Scenario
from .wire import (
    DONE,
    ERR_AUTH,
    ERR_CONTEXT,
    ERR_STATUS,
    Generation,
    WireFormat,
    chat_malformed,
    rand_alnum,
    sse_data,
)

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

    def usage(self, gen: Generation) -> dict[str, Any]:
        cost = round(gen.prompt_tokens * 3e-6 + gen.completion_tokens * 15e-6, 10)
        return {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": len(gen.reasoning)},
            "cost": cost,
            "is_byok": False,
        }

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
                    "native_finish_reason": finish,
                    "logprobs": None,
                }
            ],
        }

    def stream_plan(self, gen: Generation) -> StreamPlan:
        sc = gen.scenario
        frames = [
            Frame(
                "reasoning",
                sse_data(
                    self._chunk(
                        gen,
                        {
                            "role": "assistant",
                            "content": "",
                            "reasoning": r,
                            "reasoning_details": [
                                {
                                    "type": "reasoning.text",
                                    "text": r,
                                    "format": "unknown",
                                    "index": 0,
                                }
                            ],
                        },
                    )
                ),
            )
            for r in gen.reasoning
        ]
        frames += [
            Frame(
                "content",
                sse_data(
                    self._chunk(
                        gen,
                        {
                            "role": "assistant",
                            "content": t,
                            "reasoning": None,
                            "reasoning_details": [],
                        },
                    )
                ),
            )
            for t in gen.content
        ]
        empty: dict[str, Any] = {
            "role": "assistant",
            "content": "",
            "reasoning": None,
            "reasoning_details": [],
        }
        frames.append(Frame("finish", sse_data(self._chunk(gen, empty, sc.finish_reason))))
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
        finish = gen.scenario.finish_reason
        message = {
            "role": "assistant",
            "content": gen.text,
            "refusal": None,
            "reasoning": gen.reasoning_text if gen.reasoning else None,
        }
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
                    "native_finish_reason": finish,
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
