"""Cross-origin access for browser pages, once at the root of the app so every mounted API (the
native one, ``/v1``, GraphQL) answers preflights and carries the same headers."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from shared.settings import CorsConfig

# What a page may read of an answer beside the CORS-safelisted headers: which job it started,
# how the cache and the limits treated it, and when to retry.
EXPOSED_HEADERS = [
    "X-Job-Id",
    "X-Cache",
    "X-Cache-Key",
    "X-Cache-Coalesced",
    "Location",
    "Retry-After",
    "x-should-retry",
    "x-budget-warning",
    "x-budget-remaining-usd",
    *(
        f"x-ratelimit-{what}-{unit}"
        for what in ("limit", "remaining", "reset")
        for unit in ("requests", "tokens")
    ),
]


def cors_middleware(config: CorsConfig) -> Middleware:
    """CORS for the configured origins: their preflights are answered for any route and method
    and their answers readable; any other origin's preflight is refused (400)."""
    # No credentials: keys travel in headers and stream tokens in URLs, never in cookies, so
    # "*" stays usable and no page can ride on another's session.
    return Middleware(
        CORSMiddleware,
        allow_origins=config.allow_origins,
        allow_origin_regex=config.allow_origin_regex,
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        # Any header a page asks for (keys, Last-Event-ID, the gateway's options; the OpenAI
        # SDKs add x-stainless-* ones): what matters is the key, checked anyway.
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=config.max_age_s,
    )
