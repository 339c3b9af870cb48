"""The outermost ASGI layer: a request id for every request (the client's ``X-Request-ID`` or a
new one, returned in the response), HTTP metrics by route template, the request's server span,
and an access log line that names the route, never the raw path or query (a GET stream
carries its prompt in the query)."""

from __future__ import annotations

import logging
import time

from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import GatewayMetrics
from shared.telemetry import CURRENT, REQUEST_ID_HEADER, RequestContext, request_id_from
from shared.tracing import Tracing

log = logging.getLogger("gateway.access")

# For every FastAPI app of the gateway: this layer makes the request's span and metrics, so
# FastAPI's own would duplicate them, and asking OpenTelemetry whether they are configured cost
# each request (and each app it crosses) three provider and environment lookups.
NO_FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

_HEADER = REQUEST_ID_HEADER.lower().encode()
UNMATCHED = "unmatched"  # a path no route serves: one label, whatever was asked


def route_of(scope: Scope) -> str:
    """The template of the route that served the request, under its mount."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return f"{scope.get('root_path', '')}{path}" or "/"


class Observed:
    """Wraps the gateway's ASGI app; ``metrics`` and ``tracing`` are the process's own."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: GatewayMetrics,
        tracing: Tracing,
        *,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, _HEADER))
        http = scope["type"] == "http"
        started = time.monotonic()
        CURRENT.set(RequestContext(request_id=request_id, received_at=started if http else None))
        status = 500  # what the client gets if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (_HEADER, request_id.encode()),
                ]
            await send(message)

        method = scope.get("method", "WEBSOCKET")
        with self.tracing.span(
            f"{method} {scope.get('path', '')}" if not http else method,
            kind="server",
            attributes={"http.request.method": method, "llm_gateway.request_id": request_id},
        ) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_of(scope)
                if span is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                if http:
                    self._record(route, method, status, time.monotonic() - started, request_id)

    def _record(
        self, route: str, method: str, status: int, elapsed_s: float, request_id: str
    ) -> None:
        self.metrics.http_requests.labels(route=route, method=method, status=str(status)).inc()
        self.metrics.http_duration.labels(route=route, method=method).observe(elapsed_s)
        if self.access_log:
            log.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                elapsed_s * 1000,
                extra={"request_id": request_id},
            )


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None
