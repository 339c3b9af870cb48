"""OpenAI's ``POST /embeddings`` (also vLLM, Ollama, Together, OpenRouter): the request body
and reading the answer, vectors asked for and kept as base64 float32."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from shared.embeddings import Embeddings
from shared.errors import ProviderUnavailable
from shared.usage import Usage
from workers.providers.base import Embedded, EmbeddingCall


def embeddings_body(call: EmbeddingCall) -> dict[str, Any]:
    request = call.request
    body: dict[str, Any] = {
        **call.extra_body,
        "model": call.model,
        "input": request.input,
        # A quarter of the bytes of JSON floats; a server that ignores it sends floats.
        "encoding_format": "base64",
    }
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if request.user is not None:
        body["user"] = request.user
    return body


def embedded_from(provider: str, raw: bytes, inputs: int) -> Embedded:
    """The answer's vectors in input order; ProviderUnavailable when they are not all there."""
    try:
        body = orjson.loads(raw)
        items = sorted(body["data"], key=lambda item: item.get("index", 0))
        vectors = [_packed(item["embedding"]) for item in items]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ProviderUnavailable(
            f"{provider}: the embeddings answer is malformed", provider=provider
        ) from exc
    if len(vectors) != inputs or len({len(v) for v in vectors}) != 1:
        raise ProviderUnavailable(
            f"{provider}: answered {len(vectors)} embeddings for {inputs} inputs", provider=provider
        )
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    prompt = int(usage.get("prompt_tokens") or 0)
    return Embedded(
        embeddings=Embeddings(
            vectors=[base64.b64encode(v).decode() for v in vectors],
            dimensions=len(vectors[0]) // 4,
        ),
        usage=Usage(prompt_tokens=prompt, total_tokens=int(usage.get("total_tokens") or prompt)),
    )


def _packed(embedding: object) -> bytes:
    """float32 little-endian bytes of one vector, sent as base64 or as a list of floats."""
    if isinstance(embedding, str):
        try:
            packed = base64.b64decode(embedding, validate=True)
        except binascii.Error as exc:
            raise ValueError("not base64") from exc
        if not packed or len(packed) % 4:
            raise ValueError("not float32 values")
        return packed
    if isinstance(embedding, list) and embedding:
        return base64.b64decode(Embeddings.of_floats([[float(x) for x in embedding]]).vectors[0])
    raise ValueError("no embedding")
