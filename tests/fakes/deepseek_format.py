"""DeepSeek chat completions: reference §3.3-§3.5 (usage on the finish chunk, reasoning_content)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from starlette.datastructures import Headers

from .chat_checks import check_tool_choice, check_tools
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
# DeepSeek
# ---------------------------------------------------------------------------------------------
_DEEPSEEK_STATUS = {
    400: ("Invalid Format", "invalid_request_error"),
    401: ("Authentication Fails, Your api key: ****skey is invalid", "authentication_error"),
    402: ("Insufficient Balance", "unknown_error"),
    422: ("Invalid Parameters", "invalid_request_error"),
    429: ("Rate Limit Reached", "rate_limit_error"),
    500: ("Server Error", "server_error"),
    503: ("Server Overloaded", "server_error"),
}


class DeepSeekFormat(WireFormat):
    name = "deepseek"
    default_model = "deepseek-chat"
    fingerprint = "fp_fake0ds_prod0820_fp8_kvcache"

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def response_headers(self, response_id: str | None) -> dict[str, str]:
        return {"x-ds-trace-id": secrets.token_hex(16)}

    def leading_blank_lines(self, sc: Scenario) -> int:
        return sc.keepalives(self.name)

    def reasoning_requested(self, body: dict[str, Any], model: str) -> bool:
        thinking = body.get("thinking")
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind in ("enabled", "disabled"):
            return bool(kind == "enabled")
        return model == "deepseek-reasoner" or model.startswith("deepseek-v4")

    def tool_call_id(self, gen_model: str, index: int) -> str:
        return f"call_{index:02d}_" + rand_alnum(24)  # call_00_..., numbered by position

    def check(
        self, body: dict[str, Any], headers: Headers, path: str, sc: Scenario
    ) -> Problem | None:
        thinking = self.reasoning_requested(body, self.model_of(body))
        beta = path.startswith("/deepseek/beta/")  # strict tools work only under /beta
        return (
            check_tools(body, "deepseek", beta=beta)
            or check_tool_choice(body, "deepseek", thinking)
            or check_history(body, "deepseek", reasoning_echo=thinking)
            or check_response_format(body, "deepseek")
        )

    def usage(self, gen: Generation) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cached_tokens},
        }
        if gen.reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": len(gen.reasoning)}
        usage["prompt_cache_hit_tokens"] = gen.cached_tokens
        usage["prompt_cache_miss_tokens"] = gen.prompt_tokens - gen.cached_tokens
        return usage

    def _chunk(
        self, gen: Generation, delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": gen.response_id,
            "object": "chat.completion.chunk",
            "created": gen.created,
            "model": gen.model,
            "system_fingerprint": self.fingerprint,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if finish is not None:  # usage rides on the finish chunk, include_usage or not
            chunk["usage"] = self.usage(gen)
        elif gen.include_usage:
            chunk["usage"] = None
        return chunk

    def stream_plan(self, gen: Generation) -> StreamPlan:
        reasoner = gen.reasoning_mode or bool(gen.reasoning)
        if reasoner:
            first = {"role": "assistant", "content": None, "reasoning_content": ""}
            finish_delta: dict[str, Any] = {"content": "", "reasoning_content": None}
        else:
            first = {"role": "assistant", "content": ""}
            finish_delta = {"content": ""}
        frames = [Frame("meta", sse_data(self._chunk(gen, first)))]
        frames += [
            Frame(
                "reasoning", sse_data(self._chunk(gen, {"content": None, "reasoning_content": r}))
            )
            for r in gen.reasoning
        ]
        frames += [
            Frame(
                "content",
                sse_data(
                    self._chunk(
                        gen,
                        {"content": t, "reasoning_content": None} if reasoner else {"content": t},
                    )
                ),
            )
            for t in gen.content
        ]
        frames += [
            Frame("tool", sse_data(self._chunk(gen, {"tool_calls": entries})))
            for entries in tool_call_deltas(gen.scenario, gen.tool_calls)
        ]
        frames.append(Frame("finish", sse_data(self._chunk(gen, finish_delta, gen.finish_reason))))
        frames.append(Frame("done", DONE))
        comment = b": keep-alive\n" + (b"\n" if gen.scenario.keepalive_newlines == 2 else b"")
        error = self.error_body(500, kind=ERR_STATUS, sc=gen.scenario, model=gen.model)
        return StreamPlan(frames, comment, [sse_data(error)], chat_malformed(gen.response_id))

    def completion(self, gen: Generation) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": gen.text}
        if gen.reasoning_mode or gen.reasoning:
            message["reasoning_content"] = gen.reasoning_text
        if gen.tool_calls:
            message["tool_calls"] = message_tool_calls(
                gen.scenario, gen.tool_calls, with_index=True
            )
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
            "system_fingerprint": self.fingerprint,
        }

    def models(self) -> dict[str, Any]:  # no `created`, unlike OpenAI
        ids = ("deepseek-chat", "deepseek-reasoner")
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "owned_by": "deepseek"} for i in ids],
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
        text, type_ = _DEEPSEEK_STATUS.get(
            status,
            (
                f"fake provider error {status}",
                "invalid_request_error" if status < 500 else "server_error",
            ),
        )
        if kind == ERR_CONTEXT:
            text = (
                f"This model's maximum context length is 131072 tokens. However, you requested "
                f"{131072 + prompt_tokens} tokens ({prompt_tokens} in the messages, "
                "131072 in the completion). "
                "Please reduce the length of the messages or completion."
            )
        elif kind == ERR_AUTH:
            text, type_ = _DEEPSEEK_STATUS[401]
        elif kind == ERR_STATUS:
            text = sc.error_message or text
        elif message:
            text = message
        code: object = "invalid_request_error"
        if kind == ERR_STATUS and sc.error_code is not None:
            code = sc.error_code
        return oai_error(text, type_, None, code)
