"""OpenAI's Batch API (``/v1/files``, ``/v1/batches``) and the native ``/api/v1/batches``."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.openai_batch.batches import router as batches_router
from gateway.openai_batch.files import router as files_router
from gateway.openai_batch.native import NATIVE_PATH
from gateway.openai_batch.native import router as native_router

router = APIRouter()
for _part in (files_router, batches_router, native_router):
    router.include_router(_part)

FILES_PATH = "/v1/files"

__all__ = ["FILES_PATH", "NATIVE_PATH", "router"]
