"""OpenAI's ``/v1/embeddings``, to and from the gateway's: the request body and the answer.

``input`` is a string, an array of strings, an array of token ids or an array of those;
``encoding_format`` (``float``, or ``base64`` as the openai SDK asks by default) shapes only the
answer. The gateway's own options ride beside them as for chat (``fallback_models``,
``provider``, ``cache``, ``timeout_s``, ``extra_body``); any other field is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ValidationError

from shared.embeddings import EmbeddingRequest
from shared.errors import InvalidRequest, error_class_for, most_specific
from shared.jobs import Answer
from shared.openai_format.errors import invalid, param_from_loc
from shared.openai_format.extras import given_fields, refuse_unknown

EncodingFormat = Literal["float", "base64"]
_SAME = ("model", "dimensions", "user", "provider", "cache", "timeout_s", "extra_body")
_HANDLED = frozenset({*_SAME, "input", "encoding_format", "fallback_models"})


def embedding_request_from_openai(
    body: Any, *, headers: Mapping[str, str] | None = None
) -> tuple[EmbeddingRequest, EncodingFormat]:
    """The request and the encoding the answer takes; InvalidRequest naming the field."""
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object", None)
    given = given_fields(body, headers)
    refuse_unknown(given, _HANDLED)
    encoding = given.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise invalid("encoding_format must be float or base64", "encoding_format")
    fields = {key: given[key] for key in _SAME if key in given}
    if "fallback_models" in given:
        fields["models"] = given["fallback_models"]
    fields["input"] = _inputs(given.get("input"))
    try:
        return EmbeddingRequest.model_validate(fields), encoding
    except ValidationError as exc:
        first = most_specific(exc.errors())
        loc = list(first["loc"])
        if loc and loc[0] == "models":
            loc[0] = "fallback_models"
        param = param_from_loc(loc)
        error = error_class_for(first["type"], InvalidRequest)
        raise error(f"{param}: {first['msg']}", details={"param": param}) from exc


def _inputs(raw: object) -> object:
    """A lone string or token array as a list of one; anything else for validation to judge."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
        return [raw]
    return raw


def embeddings_response(answer: Answer, encoding: EncodingFormat) -> dict[str, Any]:
    """The ``list`` of ``embedding`` objects OpenAI answers, in input order."""
    embeddings = answer.embeddings
    if embeddings is None:
        raise ValueError(f"job {answer.job_id} has no embeddings")
    vectors: list[Any] = embeddings.vectors if encoding == "base64" else embeddings.floats()
    usage = answer.usage
    prompt = usage.prompt_tokens if usage else 0
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(vectors)
        ],
        "model": answer.model,
        "usage": {"prompt_tokens": prompt, "total_tokens": usage.total_tokens if usage else 0},
    }
