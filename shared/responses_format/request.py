"""A Responses API body (``POST /v1/responses``) to the gateway's ChatRequest.

Mapped: ``input`` (``items``), ``instructions`` (a system message first; not carried over by
``previous_response_id``, as OpenAI does), ``tools`` and ``tool_choice`` (``tools``),
``parallel_tool_calls``, ``text.format`` (``response_format``; ``json_schema`` is flat here),
``reasoning.effort``, ``max_output_tokens``, ``temperature``, ``top_p``, ``user``. Read by the
route: ``stream``, ``store`` (default true), ``background``, ``previous_response_id``,
``include`` (``reasoning.encrypted_content`` is honoured; the others concern hosted tools and
log probabilities, and ask for nothing here). Echoed, changing nothing: ``metadata``,
``prompt_cache_key``, ``safety_identifier``, ``service_tier``, ``truncation`` (nothing is ever
truncated), ``reasoning.summary`` and ``text.verbosity``. Ignored: ``client_metadata``,
``stream_options``, ``max_tool_calls``, ``prompt_cache_retention``. Refused with
``unsupported_parameter``: ``prompt`` (stored prompts), ``conversation`` (the Conversations
API), ``top_logprobs``. The gateway's own options ride beside them as on chat completions
(``fallback_models``, ``provider``, ``cache``, ``timeout_s``, ``extra_body``, or the
``X-Gateway-*`` headers). Any other field is ``unknown_parameter``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.chat import ChatMessage, ChatRequest, front_end_fields
from shared.errors import GatewayError, InvalidRequest, error_class_for, most_specific
from shared.openai_format import UnsupportedParameter
from shared.openai_format.errors import invalid, param_from_loc
from shared.openai_format.extras import given_fields, refuse_unknown
from shared.responses_format.items import InputMessage, messages_from_input
from shared.responses_format.records import ID_PREFIX, ResponseEcho
from shared.responses_format.tools import tools_from_responses

ENCRYPTED_REASONING = "reasoning.encrypted_content"
MAX_METADATA_PAIRS = 16
_CHAT_NAMES = front_end_fields("openai")
# ChatRequest fields a Responses body gives under the chat completion's name.
_SAME_AS_CHAT = (
    "model",
    "temperature",
    "top_p",
    "user",
    "timeout_s",
    "provider",
    "models",
    "cache",
)
_SHARED = {field: _CHAT_NAMES[field] for field in _SAME_AS_CHAT}
_ROUTE = ("stream", "store", "background", "previous_response_id", "include")
_ECHOED = ("metadata", "prompt_cache_key", "safety_identifier", "service_tier", "truncation")
_IGNORED = ("client_metadata", "stream_options", "max_tool_calls", "prompt_cache_retention")
_UNSUPPORTED = {
    "prompt": "stored prompts are not supported by this gateway; send input and instructions",
    "conversation": "the Conversations API is not supported; use previous_response_id",
    "top_logprobs": "log probabilities are not supported by this gateway",
}
_MAPPED = ("input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text")
_HANDLED = frozenset(
    {*_SHARED.values(), *_ROUTE, *_ECHOED, *_IGNORED, *_UNSUPPORTED, *_MAPPED}
    | {"max_output_tokens", "reasoning", "extra_body"}
)
# ChatRequest fields named otherwise here, for errors.
_RENAMED = {
    "max_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
    "response_format": "text.format",
}
_NESTED_SCHEMA = "response_format.json_schema"
_PART_FIELDS = ((".image_url.url", ".image_url"), (".image_url.detail", ".detail"), (".file.", "."))
_MESSAGE = re.compile(r"^messages\[(\d+)\](.*)$")
_FIELD = re.compile(r"\bmessages\[\d+\][\w.\[\]]*")
_TOOL = re.compile(r"^tools\[(\d+)\](?:\.function)?(.*)$")


@dataclass(frozen=True, slots=True)
class ParamNames:
    """Names a ChatRequest's field as the Responses body named it (``input[3]`` for
    ``messages[5]``), for the errors of the request and of its admission."""

    instructions: bool
    history: int
    input: tuple[InputMessage, ...]
    tool_origins: tuple[int, ...]

    def translated(self, error: GatewayError) -> GatewayError:
        """``error`` with its ``details.param``, and the fields its message names, renamed."""
        details = error.details
        if isinstance(details, dict) and isinstance(details.get("param"), str):
            error.details = {**details, "param": self.name(details["param"])}
        error.message = _FIELD.sub(lambda found: self.name(found[0]), error.message)
        return error

    def name(self, param: str) -> str:
        message = _MESSAGE.match(param)
        if message is not None:
            position = int(message[1]) - (1 if self.instructions else 0)
            if position < 0:
                return "instructions"
            if position < self.history:
                return "previous_response_id"
            if position - self.history >= len(self.input):
                return "input"
            origin = self.input[position - self.history]
            return origin.origin + (_part_field(message[2]) if origin.whole else "")
        tool = _TOOL.match(param)
        if tool is not None and int(tool[1]) < len(self.tool_origins):
            return f"tools[{self.tool_origins[int(tool[1])]}]{tool[2]}"
        if param.startswith(_NESTED_SCHEMA):  # json_schema's fields are flat here
            return "text.format" + param.removeprefix(_NESTED_SCHEMA)
        head, dot, rest = param.partition(".")
        return _RENAMED.get(head, head) + dot + rest


def _part_field(path: str) -> str:
    """A content part's field as Responses names it (``image_url`` is the URL itself)."""
    for nested, flat in _PART_FIELDS:
        path = path.replace(nested, flat)
    return path


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    """A checked Responses body: the new input, the rest of the request, and what the route
    and the response object need."""

    input: tuple[InputMessage, ...]
    instructions: str | None
    options: dict[str, Any]  # ChatRequest fields besides the messages
    echo: ResponseEcho
    custom_tools: frozenset[str]
    tool_origins: tuple[int, ...]
    stream: bool
    include_reasoning: bool

    @property
    def store(self) -> bool:
        return self.echo.store

    @property
    def background(self) -> bool:
        return self.echo.background

    @property
    def previous_response_id(self) -> str | None:
        return self.echo.previous_response_id

    def names(self, history: int) -> ParamNames:
        """How errors name fields when ``history`` messages come before the input."""
        return ParamNames(bool(self.instructions), history, self.input, self.tool_origins)

    def chat(self, history: list[ChatMessage]) -> tuple[ChatRequest, list[ChatMessage]]:
        """The ChatRequest that continues ``history`` with this input, and the input's messages
        (what a stored response adds to the conversation). Errors name the body's fields."""
        system: list[Any] = []
        if self.instructions:
            system = [ChatMessage(role="system", content=self.instructions)]
        fields = {"messages": [*system, *history, *(m.fields for m in self.input)]}
        names = self.names(len(history))
        try:
            chat = ChatRequest.model_validate({**fields, **self.options})
        except ValidationError as exc:
            raise _validation_error(exc, names.name) from exc
        except InvalidRequest as exc:  # a check of the whole conversation (tool_call_unmatched)
            raise names.translated(exc) from exc
        return chat, chat.messages[len(system) + len(history) :]


def responses_request(
    body: object, *, headers: Mapping[str, str] | None = None
) -> ResponsesRequest:
    """The checked request; raises InvalidRequest (or a subclass) naming the field at fault."""
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object", None)
    given = given_fields(body, headers)
    refuse_unknown(given, _HANDLED)
    for key in given:
        if key in _UNSUPPORTED and not (key == "top_logprobs" and given[key] == 0):
            raise UnsupportedParameter(f"{key}: {_UNSUPPORTED[key]}", details={"param": key})
    if "input" not in given:
        raise invalid("input is required", "input")
    instructions = _optional(given, "instructions", str)
    toolset = tools_from_responses(given.get("tools"), given.get("tool_choice"))
    options = {field: given[name] for field, name in _SHARED.items() if name in given}
    options.update(
        {
            "max_tokens": given.get("max_output_tokens"),
            "reasoning_effort": _reasoning_effort(given.get("reasoning")),
            "response_format": _response_format(given.get("text")),
            "tools": toolset.tools or None,
            "tool_choice": toolset.tool_choice if toolset.tools else None,
            # Without tools (all of them dropped) upstreams refuse parallel_tool_calls.
            "parallel_tool_calls": given.get("parallel_tool_calls") if toolset.tools else None,
            "extra_body": given.get("extra_body"),
        }
    )
    include = _optional(given, "include", list) or []
    if not all(isinstance(name, str) for name in include):
        raise invalid("include is an array of strings", "include")
    return ResponsesRequest(
        input=tuple(messages_from_input(given["input"])),
        instructions=instructions or None,
        options={key: value for key, value in options.items() if value is not None},
        echo=_echo(given, instructions or None),
        custom_tools=toolset.custom,
        tool_origins=toolset.origins,
        stream=bool(_optional(given, "stream", bool)),
        include_reasoning=ENCRYPTED_REASONING in include,
    )


def _optional(given: dict[str, Any], name: str, kind: type) -> Any:
    value = given.get(name)
    if value is not None and not isinstance(value, kind):
        raise invalid(f"{name} must be a {_KIND_NAMES.get(kind, kind.__name__)}", name)
    return value


_KIND_NAMES = {str: "string", bool: "boolean", list: "array", dict: "object"}


def _reasoning_effort(raw: object) -> Any:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid("reasoning must be an object", "reasoning")
    return raw.get("effort")


def _response_format(raw: object) -> Any:
    """``text.format`` as the gateway's response_format (its json_schema is nested)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid("text must be an object", "text")
    fmt = raw.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise invalid("text.format must be an object", "text.format")
    if fmt.get("type") != "json_schema":
        return fmt
    nested = {key: value for key, value in fmt.items() if key != "type"}
    return {"type": "json_schema", "json_schema": nested}


def _echo(given: dict[str, Any], instructions: str | None) -> ResponseEcho:
    previous = _optional(given, "previous_response_id", str)
    if previous is not None and not previous.startswith(ID_PREFIX):
        raise invalid(f"previous_response_id is an id {ID_PREFIX}...", "previous_response_id")
    metadata = _optional(given, "metadata", dict) or {}
    if len(metadata) > MAX_METADATA_PAIRS or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
        for k, v in metadata.items()
    ):
        raise invalid(
            f"metadata holds at most {MAX_METADATA_PAIRS} string pairs (keys of up to 64 "
            "characters, values of up to 512)",
            "metadata",
        )
    echoed: dict[str, Any] = {
        "instructions": instructions,
        "metadata": metadata,
        "store": _optional(given, "store", bool),
        "background": _optional(given, "background", bool),
        "previous_response_id": previous,
    }
    for name in ("tools", "tool_choice", "text", "parallel_tool_calls", "reasoning", "user"):
        echoed[name] = given.get(name)
    for name in ("max_output_tokens", "temperature", "top_p", "truncation"):
        echoed[name] = given.get(name)
    for name in ("prompt_cache_key", "safety_identifier", "service_tier"):
        echoed[name] = given.get(name)
    try:
        return ResponseEcho.model_validate({k: v for k, v in echoed.items() if v is not None})
    except ValidationError as exc:
        raise _validation_error(exc) from exc


def _validation_error(exc: ValidationError, rename: Callable[[str], str] = str) -> InvalidRequest:
    """The first failure as the gateway's error (its code when the failure's type is one),
    the field renamed by ``rename``."""
    errors = exc.errors()
    first = most_specific(errors)
    param = param_from_loc(list(first["loc"]))
    param = rename(param) if param else None
    where = f"{param}: " if param else ""
    details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    error = error_class_for(first["type"], InvalidRequest)
    return error(f"{where}{first['msg']}", details={"param": param, "errors": details})
