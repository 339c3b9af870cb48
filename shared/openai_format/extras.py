"""The gateway's own request options carried in HTTP headers (the SDK's ``extra_headers``).

``X-Gateway-Provider: <name>`` pins a provider and ``X-Gateway-Fallback-Models: a, b`` adds
models to fall back to. They fill in what the body leaves unset: a body field wins.
(``Cache-Control`` is read by the routes, as for every REST front end.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from shared.openai_format.errors import UnknownParameter

PROVIDER_HEADER = "x-gateway-provider"
FALLBACK_MODELS_HEADER = "x-gateway-fallback-models"


def given_fields(body: Mapping[str, Any], headers: Mapping[str, str] | None) -> dict[str, Any]:
    """The fields ``body`` sets (a null one is unset), with the gateway's options the
    ``headers`` add where the body leaves them unset."""
    given = {key: value for key, value in body.items() if value is not None}
    for key, value in (extras_from_headers(headers) if headers else {}).items():
        given.setdefault(key, value)
    return given


def refuse_unknown(given: Mapping[str, Any], handled: Collection[str]) -> None:
    """OpenAI's refusal of a field it does not know, naming it."""
    for key in given:
        if key not in handled:
            raise UnknownParameter(
                f"Unrecognized request argument supplied: {key}", details={"param": key}
            )


def extras_from_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """Body fields (``provider``, ``fallback_models``) the headers ask for."""
    lowered = {name.lower(): value for name, value in headers.items()}
    extras: dict[str, Any] = {}
    provider = lowered.get(PROVIDER_HEADER, "").strip()
    if provider:
        extras["provider"] = provider
    models = [m.strip() for m in lowered.get(FALLBACK_MODELS_HEADER, "").split(",") if m.strip()]
    if models:
        extras["fallback_models"] = models
    return extras
