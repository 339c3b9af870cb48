"""OpenAI's Batch API (``/v1/files``, ``/v1/batches``) and the native ``/api/v1/batches``."""

from __future__ import annotations

from gateway.openai_batch.batches import router as batches_router
from gateway.openai_batch.files import router as files_router
from gateway.openai_batch.native import NATIVE_PATH
from gateway.openai_batch.native import router as native_router

# The upload route caps the file itself, as it streams it to storage.
FILES_PATH = "/v1/files"

__all__ = ["FILES_PATH", "NATIVE_PATH", "batches_router", "files_router", "native_router"]
