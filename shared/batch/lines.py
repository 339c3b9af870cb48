"""One line of a batch input file: ``{custom_id, method, url, body}``, checked on its own.

What needs the whole file (duplicate custom_ids, the number of requests) or the configuration
(the model, the key's allowed models) is checked by the batch workers' validation pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from shared.batch.models import EMBEDDINGS_ENDPOINT, ENDPOINT, LineError
from shared.chat import ChatRequest
from shared.embeddings import EmbeddingRequest
from shared.errors import InvalidRequest
from shared.openai_format import chat_request_from_openai
from shared.openai_format.embeddings import EncodingFormat, embedding_request_from_openai
from shared.openai_format.errors import param_of

MAX_CUSTOM_ID_CHARS = 512


class LineRefused(Exception):
    """The line cannot run; ``error`` says why and where."""

    def __init__(self, error: LineError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class RequestLine:
    """A request line that parsed: its number in the file, its custom_id and its request (and,
    for embeddings, the encoding its answer takes)."""

    line: int
    custom_id: str
    request: ChatRequest | EmbeddingRequest
    encoding: EncodingFormat = "float"


def is_blank(raw: bytes) -> bool:
    return not raw.strip()


def custom_id_of(raw: bytes) -> str | None:
    """The line's custom_id if it has a usable one (for the error file of a line that never
    ran), else None."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = item.get("custom_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def parse_line(line: int, raw: bytes, endpoint: str = ENDPOINT) -> RequestLine:
    """The request on input line ``line`` of a batch of ``endpoint``; raises LineRefused."""

    def refuse(code: str, message: str, param: str | None = None) -> LineRefused:
        return LineRefused(LineError(code=code, message=message, param=param, line=line))

    try:
        item: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise refuse("invalid_json_line", f"line {line} is not valid JSON") from exc
    if not isinstance(item, dict):
        raise refuse("invalid_json_line", f"line {line} is not a JSON object")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise refuse("missing_custom_id", "custom_id must be a non-empty string", "custom_id")
    if len(custom_id) > MAX_CUSTOM_ID_CHARS:
        raise refuse(
            "invalid_custom_id", f"custom_id is over {MAX_CUSTOM_ID_CHARS} chars", "custom_id"
        )
    if item.get("method") != "POST":
        raise refuse("invalid_method", "method must be POST", "method")
    if item.get("url") != endpoint:
        raise refuse("invalid_url", f"url must be {endpoint}, the batch's endpoint", "url")
    body = item.get("body")
    if not isinstance(body, dict):
        raise refuse("invalid_request", "body must be a JSON object", "body")
    try:
        if endpoint == EMBEDDINGS_ENDPOINT:
            embedding, encoding = embedding_request_from_openai(body)
            return RequestLine(line, custom_id, embedding, encoding)
        return RequestLine(line, custom_id, chat_request_from_openai(body))
    except InvalidRequest as exc:
        param = param_of(exc)
        raise refuse(exc.code, exc.message, f"body.{param}" if param else "body") from exc
