"""The OpenAI-compatible API under ``/v1``: what the official SDKs call, in OpenAI's shapes.

Errors on these paths are answered in OpenAI's shape too (see ``gateway/errors.py``).
"""

from fastapi import APIRouter

from gateway.openai import chat, models

router = APIRouter()
for _module in (chat, models):
    router.include_router(_module.router)
