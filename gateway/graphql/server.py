"""Mounting the GraphQL API on the FastAPI app, at ``/graphql`` for HTTP and WebSocket."""

from __future__ import annotations

from ariadne.asgi import GraphQL
from ariadne.explorer import ExplorerHttp405
from fastapi import FastAPI
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.graphql.context import context_builder
from gateway.graphql.errors import ARIADNE_LOGGER, format_error
from gateway.graphql.explorer import VendoredGraphiQL
from gateway.graphql.limits import operation_limits, size_limited_parser
from gateway.graphql.schema import executable_schema
from gateway.graphql.transport import (
    GatewayHTTPHandler,
    LegacyWSHandler,
    SubprotocolWSHandler,
    TransportWSHandler,
)
from gateway.jobs import Gateway
from shared.settings import Settings

PATH = "/graphql"

EXAMPLE_QUERY = """\
# Put your API key under Headers: {"Authorization": "Bearer <key>"}
query Hello {
  complete(messages: [{role: "user", content: "Hello"}]) {
    content
    model
    provider
    usage { promptTokens completionTokens }
  }
}
"""


def mount_graphql(app: FastAPI, settings: Settings) -> None:
    """Serve the GraphQL API (and GraphiQL, unless ``graphql_explorer`` is off) at /graphql."""

    def gateway_of(connection: HTTPConnection) -> Gateway:  # the app's lifespan state
        gateway: Gateway = connection.state.gateway
        return gateway

    explorer = (
        VendoredGraphiQL(title="llm-gateway GraphQL", default_query=EXAMPLE_QUERY)
        if settings.graphql_explorer
        else ExplorerHttp405()
    )
    graphql_app = GraphQL(
        executable_schema(),
        context_value=context_builder(gateway_of),
        query_parser=size_limited_parser(settings.graphql_max_document_chars),
        validation_rules=[operation_limits(settings.graphql_max_depth, settings.graphql_max_cost)],
        explorer=explorer,
        logger=ARIADNE_LOGGER,
        error_formatter=format_error,
        http_handler=GatewayHTTPHandler(gateway_of),
        websocket_handler=SubprotocolWSHandler(
            {
                "graphql-transport-ws": TransportWSHandler(gateway_of),
                "graphql-ws": LegacyWSHandler(gateway_of, settings.keepalive_interval_s),
            }
        ),
    )

    async def graphql_http(request: Request) -> Response:
        return await graphql_app.handle_request(request)

    # A FastAPI route, so the request's route (for metrics and traces) is known.
    app.add_api_route(
        PATH, graphql_http, methods=["GET", "POST", "OPTIONS"], include_in_schema=False
    )

    async def graphql_socket(websocket: WebSocket) -> None:
        await graphql_app.handle_websocket(websocket)

    app.router.add_websocket_route(PATH, graphql_socket)
