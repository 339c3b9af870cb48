"""OpenAI Chat Completions (also vLLM / Ollama): reference §2.2 streaming, §2.3 and §2.5 errors."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import Headers

from .chat_checks import check_tools
from .chat_history import check_history, check_response_format
from .chat_tools import message_tool_calls, tool_call_deltas
from .engine import Frame, StreamPlan
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
    oai_error,
    rand_alnum,
    sse_data,
)


# ---------------------------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------------------------
class OpenAIFormat(WireFormat):
    name = "openai"
    default_model = "gpt-4o-mini"
    fingerprint = "fp_fake0openai"

    def new_id(self) -> str:
        return "chatcmpl-" + rand_alnum(29)

    def response_headers(self, response_id: str | None) -> dict[str, str]:
        return {
            "x-request-id": "req_" + secrets.token_hex(16),
            "openai-processing-ms": "1",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-remaining-tokens": "199000",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "300ms",
        }

    def check(
        self, body: dict[str, Any], headers: Headers, path: str, sc: Scenario
    ) -> Problem | None:
        return (
            check_tools(body, "openai")
            or check_history(body, "openai")
            or check_response_format(body, "openai")
        )

    def problem_body(self, problem: Problem, sc: Scenario, model: str) -> dict[str, Any]:
        if problem.body is None and sc.error_style == "openai":
            return oai_error(problem.message, "invalid_request_error", problem.param, problem.code)
        return super().problem_body(problem, sc, model)

    def usage(self, gen: Generation) -> dict[str, Any]:
        return {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": len(gen.reasoning),
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _chunk(
        self, gen: Generation, delta: dict[str, Any] | None, finish: str | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": gen.response_id,
            "object": "chat.completion.chunk",
            "created": gen.created,
            "model": gen.model,
            "system_fingerprint": self.fingerprint,
        }
        if delta is None:  # the include_usage chunk
            chunk["choices"] = []
            chunk["usage"] = self.usage(gen)
            return chunk
        chunk["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if gen.include_usage:
            chunk["usage"] = None
        return chunk

    def stream_plan(self, gen: Generation) -> StreamPlan:
        sc = gen.scenario
        field = sc.reasoning_field
        role = {"role": "assistant"} if sc.has_quirk("role_every_delta") else {}

        def frame(kind: str, delta: dict[str, Any], finish: str | None = None) -> Frame:
            return Frame(kind, sse_data(self._chunk(gen, role | delta, finish)))

        if gen.tool_calls and not gen.content and not gen.reasoning:
            first: dict[str, Any] = {"role": "assistant", "content": None}  # as captured
        else:
            first = {"role": "assistant", "content": "", "refusal": None}
        frames = [Frame("meta", sse_data(self._chunk(gen, first)))]
        frames += [frame("reasoning", {field: r}) for r in gen.reasoning]
        frames += [frame("content", {"content": t}) for t in gen.content]
        frames += [frame("tool", {"tool_calls": e}) for e in tool_call_deltas(sc, gen.tool_calls)]
        frames.append(frame("finish", {}, gen.finish_reason))
        if gen.include_usage:
            frames.append(Frame("usage", sse_data(self._chunk(gen, None))))
        frames.append(Frame("done", DONE))
        if sc.error_style == "openai":
            error = self.error_body(500, kind=ERR_STATUS, sc=sc, model=gen.model)
        else:  # vLLM's in-stream error has no `error` key, so openai-python does not raise on it
            error = {
                "object": "error",
                "message": sc.error_message or "CUDA out of memory",
                "code": 500,
            }
        return StreamPlan(frames, b": ping\n\n", [sse_data(error)], chat_malformed(gen.response_id))

    def completion(self, gen: Generation) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": gen.text if gen.content or not gen.tool_calls else None,
        }
        if gen.tool_calls:
            message["tool_calls"] = message_tool_calls(gen.scenario, gen.tool_calls)
        message |= {"refusal": None, "annotations": []}
        if gen.reasoning:
            message[gen.scenario.reasoning_field] = gen.reasoning_text
        return {
            "id": gen.response_id,
            "object": "chat.completion",
            "created": gen.created,
            "model": gen.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": gen.finish_reason,
                }
            ],
            "usage": self.usage(gen),
            "service_tier": "default",
            "system_fingerprint": self.fingerprint,
        }

    def models(self) -> dict[str, Any]:
        ids = [("gpt-4o-mini", 1721172741), ("gpt-4o", 1715367049), ("fake-model", 1700000000)]
        return {
            "object": "list",
            "data": [
                {"id": i, "object": "model", "created": c, "owned_by": "system"} for i, c in ids
            ],
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
        if sc.error_style != "openai":
            return self._vllm_error(
                status, kind=kind, sc=sc, message=message, prompt_tokens=prompt_tokens
            )
        code: object = None
        param: str | None = None
        type_ = "invalid_request_error" if status < 500 else "server_error"
        if kind == ERR_AUTH or (kind == ERR_STATUS and status == 401):
            if auth_present:
                text = (
                    "Incorrect API key provided: sk-fa***key. You can find your API key at "
                    "https://platform.openai.com/account/api-keys."
                )
                code = "invalid_api_key"
            else:
                text = (
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                )
        elif kind == ERR_CONTEXT:
            text = (
                "This model's maximum context length is 128000 tokens. However, your messages "
                "resulted in "
                f"{128000 + prompt_tokens} tokens. Please reduce the length of the messages."
            )
            param, code = "messages", "context_length_exceeded"
        elif kind == ERR_STATUS and status == 429 and sc.error_code == "insufficient_quota":
            text = "You exceeded your current quota, please check your plan and billing details."
            type_ = code = "insufficient_quota"
        elif kind == ERR_STATUS and status == 429:
            text = (
                f"Rate limit reached for {model} in organization org-fake on tokens per min "
                "(TPM): Limit 200000, Used 195869, Requested 4412. Please try again in 84ms. Visit "
                "https://platform.openai.com/account/rate-limits to learn more."
            )
            type_, code = "tokens", "rate_limit_exceeded"
        elif kind == ERR_STATUS and status == 404:
            text = f"The model `{model}` does not exist or you do not have access to it."
            code = "model_not_found"
        elif kind == ERR_STATUS and status >= 500:
            text = "The server had an error while processing your request. Sorry about that!"
        else:
            text = message or f"fake provider error {status}"
        if kind == ERR_STATUS:
            text = sc.error_message or text
            code = sc.error_code if sc.error_code is not None else code
        return oai_error(text, type_, param, code)

    def _vllm_error(
        self, status: int, *, kind: str, sc: Scenario, message: str | None, prompt_tokens: int
    ) -> dict[str, Any]:
        types = {
            400: "BadRequestError",
            401: "Unauthorized",
            404: "NotFoundError",
            429: "TooManyRequests",
        }
        type_ = types.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
        if kind == ERR_CONTEXT:
            text = (
                "This model's maximum context length is 2048 tokens. However, you requested "
                f"{2048 + prompt_tokens} tokens ({prompt_tokens} in the messages, 2048 in the "
                "completion). Please reduce the length of the messages or completion."
            )
        else:
            text = (
                (sc.error_message if kind == ERR_STATUS else None)
                or message
                or f"fake vLLM error {status}"
            )
        code: object = sc.error_code if kind == ERR_STATUS and sc.error_code is not None else status
        if sc.error_style == "vllm_flat":  # vLLM < 0.10.1: flat, `code` is the int status
            return {"object": "error", "message": text, "type": type_, "param": None, "code": code}
        return {"error": {"message": text, "type": type_, "param": None, "code": code}}
