"""The HTTP ``Cache-Control`` request header, read into the request's cache control."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared.chat import CacheControl, ChatRequest
from shared.errors import InvalidRequest

CacheControlHeader = Annotated[
    str | None,
    Header(
        alias="Cache-Control",
        description="no-cache (do not answer from the cache), no-store (do not keep this "
        "answer), max-age=N (accept a cached answer at most N seconds old)",
    ),
]


def with_cache_header(chat: ChatRequest, header: str | None) -> ChatRequest:
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
            value = value.strip('"')
            if not value.isdigit():
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
