"""Cache directives in request headers, read into the request's cache control.

``Cache-Control`` (no-cache, no-store, max-age=N) is honoured, except on a Server-Sent Events
request: EventSource and SSE client libraries send ``Cache-Control: no-cache``/``no-store`` on
every request to keep HTTP caches out of the stream, which says nothing about our response
cache. ``X-Cache-Control`` (same syntax) is honoured on every request, streamed or not.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from shared.chat import CacheControl, ChatRequest
from shared.embeddings import EmbeddingRequest
from shared.errors import InvalidRequest

# Either request the cache serves; the header's directives go into its ``cache`` field.
Cached = TypeVar("Cached", ChatRequest, EmbeddingRequest)
# ASCII digits only (str.isdigit takes "²", which int() refuses), and within 64 bits.
MAX_AGE = re.compile(r"[0-9]{1,18}")


async def cache_directives(request: Request) -> str | None:
    """The directives this request gives our response cache, if any."""
    own = request.headers.get("x-cache-control")
    if own is not None:
        return own
    if "text/event-stream" in request.headers.get("accept", ""):
        return None
    return request.headers.get("cache-control")


CacheControlHeader = Annotated[str | None, Depends(cache_directives)]


def with_cache_header(chat: Cached, header: str | None) -> Cached:
    """``chat`` with the header's directives added to its ``cache`` field; where both set
    max-age, the body wins. Unknown directives are ignored, as HTTP caches do."""
    if not header:
        return chat
    no_cache = no_store = False
    max_age_s: int | None = None
    for directive in header.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "no-cache":
            no_cache = True
        elif name == "no-store":
            no_store = True
        elif name == "max-age":
            value = value.strip().strip('"')
            if not MAX_AGE.fullmatch(value):
                raise InvalidRequest(
                    "Cache-Control max-age must be a whole number of seconds",
                    details=[{"loc": ["header", "Cache-Control"], "msg": "bad max-age"}],
                )
            max_age_s = int(value)
    own = chat.cache or CacheControl()
    merged = CacheControl(
        no_cache=own.no_cache or no_cache,
        no_store=own.no_store or no_store,
        max_age_s=own.max_age_s if own.max_age_s is not None else max_age_s,
        ttl_s=own.ttl_s,
    )
    return chat.model_copy(update={"cache": merged})
