"""The gateway's request as an Anthropic Messages body (provider-wire §5.1, wire-tools §4.1,
§4.4, §4.7); the conversation itself is `anthropic_messages`.

Choices where the API has no OpenAI equivalent:

* ``reasoning_effort`` becomes ``thinking: {type: enabled, budget_tokens}`` (the form every
  thinking Claude model takes; ``adaptive`` exists only from Claude 4.6), the budget by effort in
  ``THINKING_BUDGETS``; ``none`` is ``{type: disabled}``. ``max_tokens`` counts the thinking
  too: without one from the client it is the provider's default plus the budget; with one, the
  budget shrinks to fit below it (a refusal when not even the API's minimum fits). A route
  step's own ``thinking`` keeps its budget, and the default grows by it only where the budget
  would not fit below it.
* A forced ``tool_choice`` (``required`` or a named function) turns thinking off, whatever asked
  for it (``reasoning_effort`` or the route step's ``thinking``): the API refuses the two
  together, and the forced call is the request's explicit ask.
* ``response_format`` ``json_schema`` is ``output_config.format`` (``name`` and ``strict``
  dropped); ``json_object`` (and a ``json_schema`` without a schema) has no equivalent and
  becomes an instruction at the end of ``system``.
* ``seed`` and the penalties have no equivalent and are not sent (the API refuses unknown
  fields).
"""

from __future__ import annotations

from typing import Any

from shared.chat import ChatRequest
from shared.content import JsonSchemaResponseFormat, NamedToolChoice, Tool
from shared.errors import ProviderRejected
from workers.providers.anthropic_messages import MessagesTranslation, mark
from workers.providers.base import ProviderCall

# budget_tokens per reasoning_effort; the API takes no less than MIN_THINKING_BUDGET.
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32000}
MIN_THINKING_BUDGET = 1024
JSON_INSTRUCTION = "Answer with a single JSON object and nothing else (no prose, no code fence)."
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def request_body(call: ProviderCall, *, provider: str, default_max_tokens: int) -> dict[str, Any]:
    """The ``POST /v1/messages`` body of ``call``; ProviderRejected for what Anthropic cannot
    take (audio, another store's file_id, a max_tokens too small to think in)."""
    request = call.request
    translation = MessagesTranslation(provider)
    schema = _output_schema(request)
    wants_json = request.response_format is not None and request.response_format.type != "text"
    system = translation.system(
        request.messages, JSON_INSTRUCTION if wants_json and schema is None else None
    )
    body: dict[str, Any] = {
        **call.extra_body,
        "model": call.model,
        "messages": translation.messages(request.messages),
        "stream": not call.whole,
        **_thinking(request, call.extra_body, provider, default_max_tokens),
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop is not None:
        body["stop_sequences"] = [request.stop] if isinstance(request.stop, str) else request.stop
    if request.user is not None:
        metadata = body.get("metadata")
        body["metadata"] = {
            **(metadata if isinstance(metadata, dict) else {}),
            "user_id": request.user,
        }
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        choice = _tool_choice(request)
        if choice is not None:
            body["tool_choice"] = choice
    if schema is not None:
        config = call.extra_body.get("output_config")
        body["output_config"] = {
            **(config if isinstance(config, dict) else {}),
            "format": {"type": "json_schema", "schema": schema},
        }
    return body


def max_tokens_of(call: ProviderCall, *, provider: str, default_max_tokens: int) -> int | None:
    """The body's ``max_tokens``; None where the request is refused (see `request_body`)."""
    try:
        thinking = _thinking(call.request, call.extra_body, provider, default_max_tokens)
    except ProviderRejected:
        return None
    max_tokens: int = thinking["max_tokens"]
    return max_tokens


def _output_schema(request: ChatRequest) -> dict[str, Any] | None:
    fmt = request.response_format
    return fmt.json_schema.json_schema if isinstance(fmt, JsonSchemaResponseFormat) else None


def forces_tool(request: ChatRequest) -> bool:
    """The request makes the model call a tool (``any`` or ``tool`` on the wire)."""
    return bool(request.tools) and (
        request.tool_choice == "required" or isinstance(request.tool_choice, NamedToolChoice)
    )


def _thinking(
    request: ChatRequest, extra_body: dict[str, Any], provider: str, default_max_tokens: int
) -> dict[str, Any]:
    """``thinking`` and ``max_tokens``: the client's effort wins over the route step's
    ``thinking``, and a forced tool choice over both."""
    effort = request.reasoning_effort
    if forces_tool(request) and (effort not in (None, "none") or _enabled(extra_body)):
        effort = "none"
    if effort is None:
        # The route step's own thinking: its numbers stand, unless the API would refuse them.
        budget = extra_body["thinking"].get("budget_tokens") if _enabled(extra_body) else None
        if request.max_tokens is None and isinstance(budget, int) and budget >= default_max_tokens:
            return {"max_tokens": default_max_tokens + budget}
        return {"max_tokens": request.max_tokens or default_max_tokens}
    if effort == "none":
        return {
            "thinking": {"type": "disabled"},
            "max_tokens": request.max_tokens or default_max_tokens,
        }
    budget = THINKING_BUDGETS[effort]
    if request.max_tokens is None:
        max_tokens = default_max_tokens + budget
    else:
        max_tokens, budget = request.max_tokens, min(budget, request.max_tokens - 1)
    if budget < MIN_THINKING_BUDGET:
        raise ProviderRejected(
            f"{provider}: max_tokens {max_tokens} leaves no room to think: Anthropic's thinking "
            f"budget is at least {MIN_THINKING_BUDGET} tokens, below max_tokens (raise "
            "max_tokens or send reasoning_effort none)",
            provider=provider,
        )
    return {"thinking": {"type": "enabled", "budget_tokens": budget}, "max_tokens": max_tokens}


def _enabled(extra_body: dict[str, Any]) -> bool:
    thinking = extra_body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _tool(tool: Tool) -> dict[str, Any]:
    function = tool.function
    entry: dict[str, Any] = {"name": function.name}
    if function.description is not None:
        entry["description"] = function.description
    # The API wants `type: object` spelled out; JSON Schema lets it be left implicit.
    entry["input_schema"] = (
        {"type": "object", **function.parameters} if function.parameters else EMPTY_SCHEMA
    )
    if function.strict is not None:
        entry["strict"] = function.strict
    return entry | mark(tool.cache_control)


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice == "none":
        return {"type": "none"}  # the one choice that takes no disable_parallel_tool_use
    wire: dict[str, Any]
    if isinstance(choice, NamedToolChoice):
        wire = {"type": "tool", "name": choice.function.name}
    elif choice == "required":
        wire = {"type": "any"}
    elif request.parallel_tool_calls is False:
        wire = {"type": "auto"}
    else:
        return None if choice is None else {"type": "auto"}
    if request.parallel_tool_calls is False:
        wire["disable_parallel_tool_use"] = True
    return wire
