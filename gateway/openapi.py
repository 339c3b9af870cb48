"""One OpenAPI document for the whole gateway: the native API's, with each mounted API's paths
under its mount prefix (so ``/docs`` shows every route)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.openapi_responses import document_responses


def combined_openapi(main: FastAPI, mounted: Mapping[str, FastAPI]) -> Callable[[], dict[str, Any]]:
    """``main.openapi``, replaced: ``main``'s document plus ``mounted``'s, built once."""

    def openapi() -> dict[str, Any]:
        if main.openapi_schema is None:
            schema = _document(main, "")
            for prefix, api in mounted.items():
                part = _document(api, prefix)
                schema["paths"].update(part["paths"])
                components = schema.setdefault("components", {})
                for kind, items in part.get("components", {}).items():
                    components.setdefault(kind, {}).update(items)
            main.openapi_schema = document_responses(schema)
        return main.openapi_schema

    return openapi


def _document(api: FastAPI, prefix: str) -> dict[str, Any]:
    schema = get_openapi(
        title=api.title,
        version=api.version,
        summary=api.summary,
        description=api.description,
        routes=api.routes,
    )
    schema["paths"] = {prefix + path: item for path, item in schema.get("paths", {}).items()}
    return schema
