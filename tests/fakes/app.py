"""The fake provider's Starlette app: a URL prefix per wire format + /_fake control."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Send

from .anthropic_format import AnthropicFormat
from .deepseek_format import DeepSeekFormat
from .embeddings import handle_embeddings, handle_not_found
from .engine import Exchange, run_plain, run_stream
from .generation import build_generation
from .media import part_summaries
from .openai_format import OpenAIFormat
from .openrouter_format import OpenRouterFormat
from .prompt import count_prompt_tokens
from .scenario import ScenarioError, apply, validate_overrides
from .serving import (
    ExchangeResponse,
    FakeState,
    ServerConfig,
    parse_body,
    send_error,
    send_problem,
)
from .turns import Turn, read_turn
from .wire import ERR_AUTH, ERR_CONTEXT, ERR_INVALID, ERR_STATUS, WireFormat


async def handle_chat(
    state: FakeState, fmt: WireFormat, request: Request, raw: bytes, receive: Receive, send: Send
) -> None:
    record = state.new_record(fmt, request)
    body, body_error = parse_body(raw, record)
    model = fmt.model_of(body)
    record["model"] = body.get("model") if isinstance(body.get("model"), str) else None
    record["stream"] = body.get("stream") is True
    record["parts"] = part_summaries(body.get("messages"))

    base = state.base_scenario()
    sc, scenario_error, turn = base, None, Turn(None, False, False, 0)
    try:
        turn = read_turn(body.get("messages"), record["model"])
        if turn.overrides is not None:
            sc = apply(base, turn.overrides)
            record["scenario"] = turn.overrides
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
        refused = fmt.check(body, request.headers, request.url.path, sc)
        if refused is not None:
            await send_problem(ex, fmt, refused, sc, model)
            return

        prompt_tokens = count_prompt_tokens(body, with_system=fmt.top_level_system)
        if sc.status is not None:
            if await ex.sleep(sc.first_token_delay_ms / 1000):
                ex.finish("client_closed")
                return
            await send_error(ex, fmt, sc.status, ERR_STATUS, sc, model, prompt_tokens=prompt_tokens)
            return
        if sc.context_length:
            await send_error(ex, fmt, 400, ERR_CONTEXT, sc, model, prompt_tokens=prompt_tokens)
            return

        gen = build_generation(state.cache, fmt, body, sc, turn, model, fmt.include_usage(body))
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
                sent_tokens=gen.completion_tokens - len(gen.reasoning),
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


_ANY = ["GET", "POST", "PUT", "PATCH", "DELETE"]


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

    def embeddings(fmt: WireFormat) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            return ExchangeResponse(
                lambda receive, send: handle_embeddings(state, fmt, request, raw, receive, send)
            )

        return endpoint

    def not_found(fmt: WireFormat) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return ExchangeResponse(
                lambda receive, send: handle_not_found(state, fmt, request, receive, send)
            )

        return endpoint

    async def cache(request: Request) -> Response:
        return _json({"cleared": state.cache.clear()})

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
        Route("/openai/v1/embeddings", embeddings(openai), methods=["POST"]),
        Route("/deepseek/chat/completions", chat(deepseek), methods=["POST"]),
        Route("/deepseek/v1/chat/completions", chat(deepseek), methods=["POST"]),
        Route("/deepseek/beta/chat/completions", chat(deepseek), methods=["POST"]),
        Route("/deepseek/models", models(deepseek), methods=["GET"]),
        Route("/deepseek/v1/models", models(deepseek), methods=["GET"]),
        Route("/openrouter/api/v1/chat/completions", chat(openrouter), methods=["POST"]),
        Route("/openrouter/api/v1/models", models(openrouter), methods=["GET"]),
        Route("/openrouter/api/v1/embeddings", embeddings(openrouter), methods=["POST"]),
        Route("/anthropic/v1/messages", chat(anthropic), methods=["POST"]),
        Route("/anthropic/v1/models", models(anthropic), methods=["GET"]),
        Route("/_fake/health", health, methods=["GET"]),
        Route("/_fake/requests", list_requests, methods=["GET", "DELETE"]),
        Route("/_fake/defaults", defaults, methods=["GET", "PUT", "DELETE"]),
        Route("/_fake/cache", cache, methods=["DELETE"]),
        # DeepSeek and Anthropic have no embeddings (or other) endpoints beyond these
        Route("/deepseek/{rest:path}", not_found(deepseek), methods=_ANY),
        Route("/anthropic/{rest:path}", not_found(anthropic), methods=_ANY),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state
    return app
