"""The OpenAI-compatible API, mounted at ``/v1``: what the official SDKs call, in OpenAI's
shapes. It is an app of its own, with OpenAI's error shape and its own body limits."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.errors import install_error_handlers
from gateway.limits import BodySizeLimit
from gateway.observe import NO_FASTAPI_TELEMETRY
from gateway.openai import chat, embeddings, models, responses
from gateway.openai.errors import OpenAIErrors
from gateway.openai_batch import FILES_PATH, batches_router, files_router
from shared.settings import Settings

PREFIX = "/v1"


def create_openai_api(settings: Settings) -> tuple[FastAPI, BodySizeLimit]:
    """The API (for its OpenAPI document) and the ASGI app to mount, its body cap around it."""
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=NO_FASTAPI_TELEMETRY)
    shape = OpenAIErrors()
    install_error_handlers(api, shape)
    routers = (chat.router, embeddings.router, models.router, responses.router)
    for router in (*routers, files_router, batches_router):
        api.include_router(router)
    mounted = BodySizeLimit(
        api, max_bytes=settings.max_body_bytes, shape=shape, per_path={FILES_PATH: None}
    )
    return api, mounted
