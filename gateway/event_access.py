"""How the event routes are asked: who reads (a key in the headers, or a stream token in the
query, taken here and nowhere else), where a reconnect resumes, and in which frame style.

A request with ``?token=`` comes from a page's EventSource, which cannot read an HTTP status:
its refusals (401, 403, 404, 429...) are answered as one ``error`` event that a page can read,
and the reconnect after it gets 204, which ends EventSource's retries.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from starlette.responses import Response

from gateway.auth import Principal, authenticate, principal_of_grant
from gateway.jobs import Gateway
from gateway.sse import REFUSED_ID, refusal_response
from gateway.stream_tokens import StreamGrant
from shared.bounds import INT64_MAX
from shared.errors import GatewayError, InvalidRequest

SEQ = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class EventRequest:
    """The parts of an event route's request that say how to answer it."""

    token: str | None
    last_event_id: str | None
    named: bool

    def after_seq(self, after: int | None = None) -> int | None:
        """The seq a reconnect resumes after (Last-Event-ID, else ``after``); None for a
        first request."""
        if not self.last_event_id:
            return after
        value = self.last_event_id.strip()
        # ASCII digits only (str.isdigit takes "²", which int() refuses), within 64 bits.
        if not SEQ.fullmatch(value) or int(value) > INT64_MAX:
            raise InvalidRequest(
                "Last-Event-ID must be the seq of an event (a whole number below 2^63)",
                details=[{"loc": ["header", "Last-Event-ID"], "msg": "not a seq"}],
            )
        return int(value)


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads: the caller, and the token's grant when a token named it."""

    caller: Principal
    grant: StreamGrant | None = None


LastEventId = Annotated[
    str | None, Header(description="resume after this event (EventSource sends it)")
]
Named = Annotated[
    bool, Query(description="false: no `event:` lines, so EventSource's onmessage gets them all")
]


async def event_request(
    last_event_id: LastEventId = None,
    token: Annotated[
        str | None,
        Query(description="a stream token (POST /api/v1/stream-tokens), for EventSource"),
    ] = None,
    named: Named = True,
) -> EventRequest:
    return EventRequest(token=token or None, last_event_id=last_event_id, named=named)


async def keyed_event_request(
    last_event_id: LastEventId = None, named: Named = True
) -> EventRequest:
    """An event route that takes a key in the headers only (a POST: no EventSource sends it)."""
    return EventRequest(token=None, last_event_id=last_event_id, named=named)


EventRequestDep = Annotated[EventRequest, Depends(event_request)]
KeyedEventRequestDep = Annotated[EventRequest, Depends(keyed_event_request)]


async def answer_events(
    gateway: Gateway,
    request: Request,
    ask: EventRequest,
    respond: Callable[[Reader], Awaitable[Response]],
) -> Response:
    """``respond``'s answer for the authenticated reader, or the refusal in the form the
    request can read."""
    if ask.last_event_id == REFUSED_ID:  # the browser's reconnect after a refusal
        return Response(status_code=204)
    try:
        return await respond(await _reader(gateway, request, ask.token))
    except GatewayError as error:
        if ask.token is None:
            raise
        return refusal_response(error, named=ask.named, retry_ms=gateway.settings.sse_retry_ms)


async def _reader(gateway: Gateway, request: Request, token: str | None) -> Reader:
    if token is None:
        return Reader(await authenticate(gateway, request.headers))
    grant = gateway.stream_tokens.read(token)
    return Reader(await principal_of_grant(gateway, grant), grant)
