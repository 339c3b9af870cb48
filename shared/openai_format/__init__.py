"""OpenAI's chat completion format, to and from the gateway's: pure translation, no web framework.

Used by the OpenAI-compatible routes (``gateway/openai``) and by the batch workers.
"""

from shared.openai_format.chunks import ChunkStream
from shared.openai_format.errors import (
    UnknownParameter,
    UnsupportedParameter,
    error_object,
    openai_error_body,
    openai_status,
)
from shared.openai_format.extras import extras_from_headers
from shared.openai_format.request import StreamMode, chat_request_from_openai, stream_mode_of
from shared.openai_format.response import chat_completion, completion_id, usage_object

__all__ = [
    "ChunkStream",
    "StreamMode",
    "UnknownParameter",
    "UnsupportedParameter",
    "chat_completion",
    "chat_request_from_openai",
    "completion_id",
    "error_object",
    "extras_from_headers",
    "openai_error_body",
    "openai_status",
    "stream_mode_of",
    "usage_object",
]
