"""The fake provider's Starlette app: a URL prefix per wire format + /_fake control."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .anthropic_format import AnthropicFormat
from .deepseek_format import DeepSeekFormat
from .engine import Exchange, run_plain, run_stream
from .openai_format import OpenAIFormat
from .openrouter_format import OpenRouterFormat
from .scenario import (
    Scenario,
    ScenarioError,
    apply,
    count_prompt_words,
    find_directive,
    last_user_text,
    token_strings,
    validate_overrides,
)
from .wire import ERR_AUTH, ERR_CONTEXT, ERR_INVALID, ERR_STATUS, Generation, WireFormat

_SECRET_HEADERS = ("authorization", "x-api-key")


@dataclass(frozen=True)
class ServerConfig:
    tokens: int = 8
    token_delay_ms: float = 0.0
    first_token_delay_ms: float = 0.0
    require_key: str | None = None


class FakeState:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.records: list[dict[str, Any]] = []
        self.next_id = 1
        self.default_overrides: dict[str, Any] = {}

    def base_scenario(self) -> Scenario:
        cfg = self.config
        base = Scenario(
            tokens=cfg.tokens,
            token_delay_ms=cfg.token_delay_ms,
            first_token_delay_ms=cfg.first_token_delay_ms,
        )
        return apply(base, self.default_overrides)

    def new_record(self, fmt: WireFormat, request: Request) -> dict[str, Any]:
        headers = {k: v for k, v in request.headers.items() if k not in _SECRET_HEADERS}
        record: dict[str, Any] = {
            "id": self.next_id,
            "format": fmt.name,
            "method": request.method,
            "path": request.url.path,
            "model": None,
            "stream": False,
            "tag": None,
            "headers": headers,
            "auth": "present" if fmt.auth_present(request.headers) else "absent",
            "body": None,
            "scenario": None,
            "status": None,
            "outcome": None,  # None while the response is still in progress
            "tokens_sent": 0,
            "started_at": time.time(),
            "ended_at": None,
        }
        if fmt.name == "openrouter":
            record["attribution"] = {
                "referer": request.headers.get("http-referer"),
                "title": request.headers.get("x-openrouter-title")
                or request.headers.get("x-title"),
            }
        self.next_id += 1
        self.records.append(record)
        return record


Handler = Callable[[Receive, Send], Awaitable[None]]


class ExchangeResponse(Response):
    """A response that drives raw ASGI itself (streaming, delays, disconnects, aborts)."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(receive, send)


def retry_headers(sc: Scenario) -> dict[str, str]:
    headers: dict[str, str] = {}
    if sc.retry_after is not None:
        value = sc.retry_after
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        headers["retry-after"] = str(value)
    if sc.retry_after_ms is not None:
        headers["retry-after-ms"] = str(sc.retry_after_ms)
    if sc.should_retry is not None:
        headers["x-should-retry"] = "true" if sc.should_retry else "false"
    return headers


async def send_error(
    ex: Exchange,
    fmt: WireFormat,
    status: int,
    kind: str,
    sc: Scenario,
    model: str,
    *,
    message: str | None = None,
    prompt_tokens: int = 0,
    auth_present: bool = True,
) -> None:
    body = fmt.error_body(
        status,
        kind=kind,
        sc=sc,
        model=model,
        message=message,
        prompt_tokens=prompt_tokens,
        auth_present=auth_present,
    )
    headers = fmt.response_headers(None) | fmt.error_headers(status)
    if kind == ERR_STATUS:
        headers |= retry_headers(sc)
    if "request_id" in body and "request-id" in headers:  # Anthropic: body and header agree
        body["request_id"] = headers["request-id"]
    await ex.send_json(status, body, headers)
    ex.finish("error_status")


async def handle_chat(
    state: FakeState, fmt: WireFormat, request: Request, raw: bytes, receive: Receive, send: Send
) -> None:
    record = state.new_record(fmt, request)
    body: dict[str, Any] = {}
    body_error = None
    try:
        parsed = orjson.loads(raw)
        if isinstance(parsed, dict):
            body = parsed
        else:
            body_error = "the request body must be a JSON object"
        record["body"] = parsed
    except orjson.JSONDecodeError:
        body_error = "We could not parse the JSON body of your request."
        record["body"] = raw.decode("utf-8", "replace")
    model = fmt.model_of(body)
    record["model"] = body.get("model") if isinstance(body.get("model"), str) else None
    record["stream"] = body.get("stream") is True

    base = state.base_scenario()
    sc, scenario_error = base, None
    try:
        overrides = find_directive(last_user_text(body.get("messages")), record["model"])
        if overrides is not None:
            sc = apply(base, overrides)
            record["scenario"] = overrides
    except ScenarioError as exc:
        scenario_error = f"fake provider: {exc}"
    record["tag"] = sc.tag

    async with Exchange(receive, send, record) as ex:
        present = fmt.auth_present(request.headers)
        key = state.config.require_key
        if key is not None and not fmt.auth_ok(request.headers, key):
            await send_error(ex, fmt, 401, ERR_AUTH, base, model, auth_present=present)
            return
        problem = (
            fmt.header_error(request.headers) or body_error or fmt.validate(body) or scenario_error
        )
        if problem:
            await send_error(ex, fmt, 400, ERR_INVALID, base, model, message=problem)
            return

        prompt_tokens = count_prompt_words(body.get("messages"), fmt.system_text(body))
        if sc.status is not None:
            if await ex.sleep(sc.first_token_delay_ms / 1000):
                ex.finish("client_closed")
                return
            await send_error(ex, fmt, sc.status, ERR_STATUS, sc, model, prompt_tokens=prompt_tokens)
            return
        if sc.context_length:
            await send_error(ex, fmt, 400, ERR_CONTEXT, sc, model, prompt_tokens=prompt_tokens)
            return

        reasoning_mode = fmt.reasoning_requested(body, model)
        gen = Generation(
            model=model,
            scenario=sc,
            body=body,
            prompt_tokens=prompt_tokens,
            reasoning=token_strings("r", sc.reasoning_count(reasoning_mode)),
            content=sc.pieces if sc.pieces is not None else token_strings("t", sc.tokens),
            reasoning_mode=reasoning_mode,
            include_usage=fmt.include_usage(body),
            response_id=fmt.new_id(),
            created=int(time.time()),
        )
        headers = fmt.response_headers(gen.response_id)
        if record["stream"]:
            await run_stream(ex, sc, fmt.name, fmt.stream_plan(gen), headers)
        else:
            await run_plain(
                ex,
                sc,
                fmt.completion(gen),
                headers,
                total_tokens=gen.completion_tokens,
                leading_blank_lines=fmt.leading_blank_lines(sc),
            )


async def handle_models(
    state: FakeState, fmt: WireFormat, request: Request, receive: Receive, send: Send
) -> None:
    record = state.new_record(fmt, request)
    base = state.base_scenario()
    async with Exchange(receive, send, record) as ex:
        key = state.config.require_key
        if fmt.models_need_auth and key is not None and not fmt.auth_ok(request.headers, key):
            present = fmt.auth_present(request.headers)
            await send_error(ex, fmt, 401, ERR_AUTH, base, fmt.default_model, auth_present=present)
            return
        problem = fmt.header_error(request.headers)
        if problem:
            await send_error(ex, fmt, 400, ERR_INVALID, base, fmt.default_model, message=problem)
            return
        await ex.send_json(200, fmt.models(), fmt.response_headers(None))
        ex.finish("completed")


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def create_app(config: ServerConfig | None = None) -> Starlette:
    state = FakeState(config or ServerConfig())

    def chat(fmt: WireFormat) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            return ExchangeResponse(
                lambda receive, send: handle_chat(state, fmt, request, raw, receive, send)
            )

        return endpoint

    def models(fmt: WireFormat) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return ExchangeResponse(
                lambda receive, send: handle_models(state, fmt, request, receive, send)
            )

        return endpoint

    async def list_requests(request: Request) -> Response:
        if request.method == "DELETE":
            count = len(state.records)
            state.records.clear()
            return _json({"cleared": count})
        tag = request.query_params.get("tag")
        return _json([r for r in state.records if tag is None or r["tag"] == tag])

    async def defaults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                overrides = validate_overrides(orjson.loads(await request.body()))
            except (ScenarioError, orjson.JSONDecodeError) as exc:
                return _json({"error": str(exc)}, 400)
            state.default_overrides = overrides
        elif request.method == "DELETE":
            state.default_overrides = {}
        return _json(state.default_overrides)

    async def health(request: Request) -> Response:
        return _json({"ok": True, "formats": ["openai", "deepseek", "openrouter", "anthropic"]})

    openai, deepseek, openrouter, anthropic = (
        OpenAIFormat(),
        DeepSeekFormat(),
        OpenRouterFormat(),
        AnthropicFormat(),
    )
    routes = [
        Route("/openai/v1/chat/completions", chat(openai), methods=["POST"]),
        Route("/openai/v1/models", models(openai), methods=["GET"]),
        Route("/deepseek/chat/completions", chat(deepseek), methods=["POST"]),
        Route("/deepseek/v1/chat/completions", chat(deepseek), methods=["POST"]),
        Route("/deepseek/models", models(deepseek), methods=["GET"]),
        Route("/deepseek/v1/models", models(deepseek), methods=["GET"]),
        Route("/openrouter/api/v1/chat/completions", chat(openrouter), methods=["POST"]),
        Route("/openrouter/api/v1/models", models(openrouter), methods=["GET"]),
        Route("/anthropic/v1/messages", chat(anthropic), methods=["POST"]),
        Route("/anthropic/v1/models", models(anthropic), methods=["GET"]),
        Route("/_fake/health", health, methods=["GET"]),
        Route("/_fake/requests", list_requests, methods=["GET", "DELETE"]),
        Route("/_fake/defaults", defaults, methods=["GET", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state
    return app
