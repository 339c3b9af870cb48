"""What every resolver gets: the gateway, the caller, and the connection it came on.

The caller is authenticated once per HTTP request and once per WebSocket (its
``connection_init``), before any operation runs, and kept in the connection's scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from graphql import GraphQLResolveInfo
from starlette.requests import HTTPConnection

from gateway.auth import Principal
from gateway.jobs import Gateway
from shared.errors import Unauthorized

PRINCIPAL_SCOPE_KEY = "llm_gateway.principal"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """``info.context`` of every resolver."""

    gateway: Gateway
    principal: Principal
    connection: HTTPConnection  # a Request, or the WebSocket of a subscription or operation


Info: TypeAlias = "GraphQLResolveInfo[RequestContext]"


def context_of(info: Info) -> RequestContext:
    context = info.context
    assert isinstance(context, RequestContext)
    return context


def context_builder(
    gateway_of: Callable[[HTTPConnection], Gateway],
) -> Callable[[HTTPConnection, Any], RequestContext]:
    """Ariadne's ``context_value``: built per operation from the connection's caller."""

    def build(connection: HTTPConnection, _data: Any) -> RequestContext:
        principal = connection.scope.get(PRINCIPAL_SCOPE_KEY)
        if not isinstance(principal, Principal):  # the transports authenticate first
            raise Unauthorized("the connection is not authenticated")
        return RequestContext(gateway_of(connection), principal, connection)

    return build


def headers_from_payload(payload: Any) -> dict[str, str]:
    """The credential headers of a ``connection_init`` payload: the header names at its top
    level, or under ``headers`` (Apollo clients' ``connectionParams: {headers: ...}``)."""
    if not isinstance(payload, Mapping):
        return {}
    headers = {str(k): v for k, v in payload.items() if isinstance(v, str)}
    nested = payload.get("headers")
    if isinstance(nested, Mapping):
        headers.update({str(k): v for k, v in nested.items() if isinstance(v, str)})
    return headers
