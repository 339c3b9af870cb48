"""The reasoning a stateless client carries between turns: a reasoning item's
``encrypted_content``.

With ``store: false`` (Codex) nothing stays on the gateway, so what a provider needs back on the
next turn (DeepSeek's reasoning text, Anthropic's signed thinking, OpenRouter's details) rides
in the item when the client asks for it (``include: ["reasoning.encrypted_content"]``), as
OpenAI's own does. It is encoded, not encrypted: it holds only what this client was answered,
and the providers' signatures already refuse an altered thinking block. A blob from elsewhere
(OpenAI's real ones) means nothing to other providers and is dropped.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

import orjson
from pydantic import TypeAdapter, ValidationError

from shared.content import ReasoningDetail

PREFIX = "llmgw.r1."
_DETAILS: TypeAdapter[list[ReasoningDetail]] = TypeAdapter(list[ReasoningDetail])


@dataclass(frozen=True, slots=True)
class CarriedReasoning:
    text: str | None = None
    details: list[ReasoningDetail] = field(default_factory=list)


def encode_reasoning(text: str | None, details: list[ReasoningDetail]) -> str:
    """The ``encrypted_content`` that gives ``text`` and ``details`` back on the next turn."""
    payload = {"text": text, "details": [d.model_dump(exclude_none=True) for d in details]}
    return PREFIX + base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_reasoning(blob: str) -> CarriedReasoning | None:
    """What ``encode_reasoning`` put in ``blob``; None for a blob it did not make. Raises
    ValueError for one of ours that was damaged."""
    if not blob.startswith(PREFIX):
        return None
    data = blob[len(PREFIX) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        text = payload.get("text")
        if text is not None and not isinstance(text, str):
            raise ValueError("the reasoning text is not a string")
        return CarriedReasoning(text, _DETAILS.validate_python(payload.get("details") or []))
    except (binascii.Error, orjson.JSONDecodeError, ValidationError, AttributeError) as exc:
        raise ValueError("the encrypted_content was altered") from exc
