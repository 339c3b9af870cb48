"""What every endpoint of the fake shares: server state (config, request records, defaults,
prompt cache), raw-ASGI responses, error answers and body parsing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .caching import PromptCache
from .engine import Exchange
from .scenario import Scenario, apply
from .wire import ERR_STATUS, Problem, WireFormat

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
        self.cache = PromptCache()

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


async def send_problem(
    ex: Exchange, fmt: WireFormat, problem: Problem, sc: Scenario, model: str
) -> None:
    headers = fmt.response_headers(None) | fmt.error_headers(problem.status)
    body = fmt.problem_body(problem, sc, model)
    if "request_id" in body and "request-id" in headers:
        body["request_id"] = headers["request-id"]
    await ex.send_json(problem.status, body, headers)
    ex.finish("error_status")


def parse_body(raw: bytes, record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The JSON object body (also stored in the record), or a 400 message."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        record["body"] = raw.decode("utf-8", "replace")
        return {}, "We could not parse the JSON body of your request."
    record["body"] = parsed
    if not isinstance(parsed, dict):
        return {}, "the request body must be a JSON object"
    return parsed, None
