"""The gateway's own request options carried in HTTP headers (the SDK's ``extra_headers``).

``X-Gateway-Provider: <name>`` pins a provider, ``X-Gateway-Fallback-Models: a, b`` adds models
to fall back to, and ``Cache-Control`` (``no-cache``, ``no-store``, ``max-age=<s>``) controls
the response cache. They fill in what the body leaves unset: a body field wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.openai_format.errors import invalid

PROVIDER_HEADER = "x-gateway-provider"
FALLBACK_MODELS_HEADER = "x-gateway-fallback-models"
CACHE_CONTROL_HEADER = "cache-control"


def extras_from_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """Body fields (``provider``, ``fallback_models``, ``cache``) the headers ask for."""
    lowered = {name.lower(): value for name, value in headers.items()}
    extras: dict[str, Any] = {}
    provider = lowered.get(PROVIDER_HEADER, "").strip()
    if provider:
        extras["provider"] = provider
    models = [m.strip() for m in lowered.get(FALLBACK_MODELS_HEADER, "").split(",") if m.strip()]
    if models:
        extras["fallback_models"] = models
    cache = cache_control_from_header(lowered.get(CACHE_CONTROL_HEADER, ""))
    if cache:
        extras["cache"] = cache
    return extras


def cache_control_from_header(value: str) -> dict[str, Any]:
    """``no-cache, max-age=60`` → ``{"no_cache": True, "max_age_s": 60}``; directives the
    response cache has no use for are ignored, as HTTP caches do."""
    cache: dict[str, Any] = {}
    for directive in value.split(","):
        name, _, argument = directive.strip().lower().partition("=")
        if name == "no-cache":
            cache["no_cache"] = True
        elif name == "no-store":
            cache["no_store"] = True
        elif name == "max-age":
            seconds = argument.strip().strip('"')
            if not seconds.isdigit():
                raise invalid(
                    f"Cache-Control max-age must be whole seconds, got {argument!r}",
                    "Cache-Control",
                )
            cache["max_age_s"] = int(seconds)
    return cache
