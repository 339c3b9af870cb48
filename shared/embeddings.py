"""Embeddings as a job: the request every front end turns its input into, and the vectors a job
ends with.

Vectors travel and are kept as base64 of little-endian float32 (what OpenAI's ``base64``
encoding is): a quarter of the size of JSON floats, in events, job records and the cache; a
front end decodes them when its client asked for floats.
"""

from __future__ import annotations

import base64
import struct
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.chat import MAX_EXTRA_BODY_BYTES, MAX_FALLBACK_MODELS, CacheControl

MAX_INPUTS = 2048
MAX_INPUT_CHARS = 100_000
MAX_TOTAL_INPUT_CHARS = 2_000_000
MAX_TOKENS_PER_INPUT = 100_000
Operation = Literal["chat", "embed"]


class EmbeddingRequest(BaseModel):
    """Texts (or token arrays) to embed, the model and the gateway's own options."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # Tells this request apart from a chat one wherever a job's request is one or the other.
    operation: Literal["embed"] = "embed"
    input: (
        list[Annotated[str, StringConstraints(max_length=MAX_INPUT_CHARS)]]
        | list[Annotated[list[int], Field(max_length=MAX_TOKENS_PER_INPUT)]]
    ) = Field(min_length=1, max_length=MAX_INPUTS)
    model: str | None = Field(None, min_length=1, max_length=256)
    dimensions: int | None = Field(None, ge=1, le=65_536)
    user: str | None = Field(None, max_length=256)
    timeout_s: float | None = Field(None, gt=0)
    provider: str | None = Field(None, min_length=1, max_length=128)
    models: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] | None = Field(
        None, max_length=MAX_FALLBACK_MODELS
    )
    extra_body: dict[str, Any] | None = None
    cache: CacheControl | None = None

    @model_validator(mode="after")
    def _check_sizes(self) -> EmbeddingRequest:
        if sum(len(text) for text in self.texts) > MAX_TOTAL_INPUT_CHARS:
            raise ValueError(f"input holds more than {MAX_TOTAL_INPUT_CHARS} characters in all")
        if self.extra_body and len(orjson.dumps(self.extra_body)) > MAX_EXTRA_BODY_BYTES:
            raise ValueError(f"extra_body is larger than {MAX_EXTRA_BODY_BYTES} bytes")
        return self

    @property
    def texts(self) -> list[str]:
        """The inputs that are text (token arrays are not)."""
        return [item for item in self.input if isinstance(item, str)]


class Embeddings(BaseModel):
    """The vectors of one job, in the order of its inputs."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    vectors: list[str]  # base64 of little-endian float32
    dimensions: int

    @classmethod
    def of_floats(cls, vectors: list[list[float]]) -> Embeddings:
        packed = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
        return cls(vectors=packed, dimensions=len(vectors[0]) if vectors else 0)

    def floats(self) -> list[list[float]]:
        layout = f"<{self.dimensions}f"
        return [list(struct.unpack(layout, base64.b64decode(v))) for v in self.vectors]
