"""Ariadne's HTTP and WebSocket handlers, with the gateway's auth and both WebSocket protocols.

HTTP: the caller is authenticated before the body is parsed; a refused request or a body that
is not JSON gets a GraphQL-shaped error (``{"errors": [...]}``) with the error's HTTP status.

WebSocket: ``graphql-transport-ws`` (the graphql-ws library) and the legacy ``graphql-ws``
(subscriptions-transport-ws) share the path; the client's first requested subprotocol that we
speak wins. The caller is authenticated from the ``connection_init`` payload; a refused key
closes the socket with 4403.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from ariadne.asgi.handlers import (
    GraphQLHTTPHandler,
    GraphQLTransportWSHandler,
    GraphQLWebsocketHandlerBase,
    GraphQLWSHandler,
)
from ariadne.exceptions import HttpError
from ariadne.types import Operation
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from gateway.auth import Principal, authenticate
from gateway.graphql.context import PRINCIPAL_SCOPE_KEY, headers_from_payload
from gateway.graphql.errors import error_response, extensions_of
from gateway.jobs import Gateway
from shared.bounds import MAX_JSON_DEPTH, json_too_deep
from shared.errors import (
    Forbidden,
    GatewayError,
    MalformedBody,
    Unauthorized,
)

GatewayGetter = Callable[[HTTPConnection], Gateway]

CLOSE_FORBIDDEN = 4403  # graphql-transport-ws: connection_init refused
CLOSE_INTERNAL = 1011


class GatewayHTTPHandler(GraphQLHTTPHandler):
    """Queries and mutations over HTTP POST, for an authenticated caller."""

    def __init__(self, gateway_of: GatewayGetter) -> None:
        super().__init__()
        self.gateway_of = gateway_of

    async def graphql_http_server(self, request: Request) -> Response:
        try:
            request.scope[PRINCIPAL_SCOPE_KEY] = await authenticate(
                self.gateway_of(request), request.headers
            )
        except GatewayError as error:
            return error_response(error)
        if json_too_deep(await request.body()):  # before a parser that recurses sees it
            return error_response(
                MalformedBody(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
            )
        try:
            await self.extract_data_from_request(request)  # Starlette keeps the parsed body
        except HttpError as error:
            return error_response(MalformedBody(error.message or "the body is not valid JSON"))
        return await super().graphql_http_server(request)


async def authenticate_socket(gateway: Gateway, payload: Any) -> Principal | GatewayError:
    """The caller a ``connection_init`` payload names, or why it is refused."""
    try:
        return await authenticate(gateway, headers_from_payload(payload))
    except GatewayError as error:
        return error


async def close_refused(websocket: WebSocket, error: GatewayError) -> None:
    code = CLOSE_FORBIDDEN if isinstance(error, Unauthorized | Forbidden) else CLOSE_INTERNAL
    reason = error.message.encode()[:120].decode(errors="ignore")  # at most 123 bytes
    await websocket.close(code=code, reason=reason)


class TransportWSHandler(GraphQLTransportWSHandler):
    """``graphql-transport-ws``, authenticated at ``connection_init``."""

    def __init__(self, gateway_of: GatewayGetter) -> None:
        super().__init__()
        self.gateway_of = gateway_of

    async def handle_websocket_connection_init_message(
        self, websocket: WebSocket, message: dict[str, Any], client_context: Any
    ) -> None:
        if not client_context.connection_init_received:
            caller = await authenticate_socket(self.gateway_of(websocket), message.get("payload"))
            if isinstance(caller, GatewayError):
                client_context.connection_init_received = True  # stops the init timeout
                await close_refused(websocket, caller)
                return
            websocket.scope[PRINCIPAL_SCOPE_KEY] = caller
        await super().handle_websocket_connection_init_message(websocket, message, client_context)


class LegacyWSHandler(GraphQLWSHandler):
    """The legacy ``graphql-ws`` protocol, authenticated at ``connection_init``.

    Ariadne stops a legacy operation by closing its result generator while another task is
    still iterating it, which Python refuses ("already running"): here the task reading the
    operation is cancelled first, which also runs the subscription's clean-up at once.
    """

    def __init__(self, gateway_of: GatewayGetter, keepalive_s: float) -> None:
        super().__init__(keepalive=keepalive_s)
        self.gateway_of = gateway_of
        self._readers: dict[int, asyncio.Task[Any]] = {}

    async def handle_websocket_connection_init_message(
        self, websocket: WebSocket, message: dict[str, Any]
    ) -> None:
        caller = await authenticate_socket(self.gateway_of(websocket), message.get("payload"))
        if isinstance(caller, GatewayError):
            # The legacy protocol says why in a connection_error message before the close.
            error = {"message": caller.message, "extensions": extensions_of(caller)}
            await websocket.send_json({"type": self.GQL_CONNECTION_ERROR, "payload": error})
            await close_refused(websocket, caller)
            return
        websocket.scope[PRINCIPAL_SCOPE_KEY] = caller
        await super().handle_websocket_connection_init_message(websocket, message)

    async def observe_async_results(
        self, websocket: WebSocket, results: Any, operation_id: str
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._readers[id(results)] = task
        try:
            await super().observe_async_results(websocket, results, operation_id)
        finally:
            self._readers.pop(id(results), None)

    async def stop_websocket_operation(self, websocket: WebSocket, operation: Operation) -> None:
        reader = self._readers.pop(id(operation.generator), None)
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader
        await super().stop_websocket_operation(websocket, operation)


class SubprotocolWSHandler(GraphQLWebsocketHandlerBase):
    """Serves each socket with the handler of the subprotocol it asked for."""

    def __init__(self, handlers: dict[str, GraphQLWebsocketHandlerBase]) -> None:
        super().__init__()
        self.handlers = handlers

    def configure(self, *args: Any, **kwargs: Any) -> None:
        super().configure(*args, **kwargs)
        for handler in self.handlers.values():
            handler.configure(*args, **kwargs)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle_websocket(WebSocket(scope=scope, receive=receive, send=send))

    async def handle_websocket(self, websocket: WebSocket) -> None:
        for requested in websocket.scope.get("subprotocols", []):
            handler = self.handlers.get(requested)
            if handler is not None:
                await handler.handle_websocket(websocket)
                return
        # Accepting with a subprotocol the client did not ask for fails the client anyway.
        await websocket.close(code=4406, reason=f"use one of: {', '.join(self.handlers)}")
