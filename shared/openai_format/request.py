"""An OpenAI ``/v1/chat/completions`` body to the gateway's ChatRequest.

Fields OpenAI defines are mapped (tools, tool_choice, response_format and the sampling options
are ChatRequest fields), passed upstream (``logit_bias`` goes into ``extra_body``), ignored when
they change nothing here (``store``, ``metadata``...), or refused with ``unsupported_parameter``
when the gateway cannot honour them (``n`` > 1, log probabilities, audio out, legacy functions).
The gateway's own options ride beside them, as the SDK's ``extra_body`` sends them:
``fallback_models``, ``provider``, ``cache``, ``timeout_s`` and ``extra_body`` (fields for the
upstream request). Any other field is refused with ``unknown_parameter``, so that a typo is seen
rather than silently dropped. A null field counts as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.chat import ChatRequest, front_end_fields
from shared.errors import InvalidRequest, error_class_for, most_specific
from shared.openai_format.errors import (
    UnsupportedParameter,
    invalid,
    param_from_loc,
)
from shared.openai_format.extras import given_fields, refuse_unknown
from shared.openai_format.messages import messages_from_openai

# ChatRequest field -> its name in the body. Two are read by hand: the output limit, which
# OpenAI takes under two names, and extra_body, which the fields passed upstream join.
_FIELDS = front_end_fields("openai")
_BY_HAND = ("max_tokens", "extra_body")
_MAPPED = {field: name for field, name in _FIELDS.items() if field not in _BY_HAND}
PASSED_UPSTREAM = ("logit_bias",)
IGNORED = (
    "store",
    "metadata",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "stream",  # read by the route (stream_mode_of)
    "stream_options",
)
_FUNCTIONS = "legacy functions/function_call are not supported: send tools and tool_choice"
# field -> (the values that ask for nothing, why anything else is refused)
UNSUPPORTED: dict[str, tuple[tuple[Any, ...], str]] = {
    "n": ((1,), "n must be 1: this gateway returns one choice"),
    "logprobs": ((False,), "log probabilities are not supported by this gateway"),
    "top_logprobs": ((0,), "log probabilities are not supported by this gateway"),
    "functions": (([],), _FUNCTIONS),
    "function_call": (("none",), _FUNCTIONS),
    "modalities": ((["text"],), "this gateway answers with text only"),
    "audio": ((), "this gateway answers with text only"),
    "prediction": ((), "predicted outputs are not supported by this gateway"),
    "web_search_options": ((), "web search is not supported by this gateway"),
}
_HANDLED = frozenset(
    {*_FIELDS.values(), *PASSED_UPSTREAM, *IGNORED, *UNSUPPORTED}
    | {"messages", "max_completion_tokens"}
)


@dataclass(frozen=True, slots=True)
class StreamMode:
    """How the answer is delivered: ``stream``, and a final usage chunk (``include_usage``)."""

    stream: bool = False
    include_usage: bool = False


def chat_request_from_openai(
    body: dict[str, Any], *, headers: Mapping[str, str] | None = None
) -> ChatRequest:
    """The ChatRequest an OpenAI chat completion body asks for; ``headers`` may add the
    gateway's options (see ``shared.openai_format.extras``). Raises InvalidRequest (or its
    subclasses) with ``details.param`` naming the field at fault."""
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object", None)
    given = given_fields(body, headers)
    refuse_unknown(given, _HANDLED)
    _refuse_unsupported(given)
    fields = {field: given[name] for field, name in _MAPPED.items() if name in given}
    fields["messages"] = messages_from_openai(given.get("messages"))
    limit_name, limit = _max_tokens(given)
    if limit is not None:
        fields["max_tokens"] = limit
    upstream = _upstream_fields(given)
    if upstream:
        fields["extra_body"] = upstream
    try:
        return ChatRequest.model_validate(fields)
    except ValidationError as exc:
        raise _translated(exc, {**_MAPPED, "max_tokens": limit_name}) from exc


def stream_mode_of(body: dict[str, Any]) -> StreamMode:
    """``stream`` and ``stream_options.include_usage``; the options count only when streaming."""
    stream = body.get("stream")
    if stream is None:
        return StreamMode()
    if not isinstance(stream, bool):
        raise invalid("stream must be a boolean", "stream")
    options = body.get("stream_options")
    if options is None or not stream:
        return StreamMode(stream=stream)
    if not isinstance(options, dict):
        raise invalid("stream_options must be an object", "stream_options")
    include_usage = options.get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise invalid(
            "stream_options.include_usage must be a boolean", "stream_options.include_usage"
        )
    return StreamMode(stream=True, include_usage=include_usage)


def _refuse_unsupported(given: dict[str, Any]) -> None:
    for key, value in given.items():
        if key in UNSUPPORTED:
            harmless, why = UNSUPPORTED[key]
            if not any(_same(value, ok) for ok in harmless):
                raise UnsupportedParameter(f"{key}: {why}", details={"param": key})


def _same(value: Any, harmless: Any) -> bool:
    return type(value) is type(harmless) and bool(value == harmless)


def _max_tokens(given: dict[str, Any]) -> tuple[str, Any]:
    """The output limit and the name it came under (``max_completion_tokens`` is OpenAI's
    current name, ``max_tokens`` the deprecated one)."""
    new, old = given.get("max_completion_tokens"), given.get("max_tokens")
    if new is not None and old is not None and new != old:
        raise invalid(
            "give max_completion_tokens or max_tokens, not two different values", "max_tokens"
        )
    return ("max_completion_tokens", new) if new is not None else ("max_tokens", old)


def _upstream_fields(given: dict[str, Any]) -> dict[str, Any]:
    extra = given.get("extra_body", {})
    if not isinstance(extra, dict):
        raise invalid("extra_body must be an object", "extra_body")
    return {**extra, **{key: given[key] for key in PASSED_UPSTREAM if key in given}}


def _translated(exc: ValidationError, renames: dict[str, str]) -> InvalidRequest:
    """The first failure, under the name the client sent the field by; a failure whose type is
    one of the gateway's codes (an invalid data: URL...) is that error."""
    errors = exc.errors()
    first = most_specific(errors)
    loc = list(first["loc"])
    if loc and loc[0] in renames:
        loc[0] = renames[loc[0]]
    param = param_from_loc(loc)
    where = f"{param}: " if param else ""
    details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    error = error_class_for(first["type"], InvalidRequest)
    return error(f"{where}{first['msg']}", details={"param": param, "errors": details})
