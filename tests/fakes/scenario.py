"""Scenario directives for the fake provider: what a single request should do.

A request picks its behaviour with a directive in the content of its LAST user message:
``FAKE{...json object...}``, e.g. ``hello FAKE{"tokens": 20, "token_delay_ms": 5}``, applying to
every request, and ``FAKE:<model>{...}`` applying only to requests for that upstream model (its
keys win), so one prompt can make one route step fail and the next succeed.
Server flags (and ``PUT /_fake/defaults``) supply the defaults; the directive overrides them.
Unknown keys or wrongly typed values are rejected (the fake answers 400) so that typos fail loudly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, cast

DIRECTIVE = "FAKE"

FAULTS = (
    "stall_after",
    "drop_after",
    "malformed_after",
    "error_frame_after",
    "no_done",
    "keepalive_comments",
)
USAGE_FORMS = ("empty_choices", "empty_delta")
# How OpenAI-family streams lay out tool-call fragments (reference wire-tools §1.4, §8.A.1).
TOOL_STREAMS = ("sequential", "interleaved", "args_at_end", "whole", "multi_fragment")
# Deviations from the canonical tool-call stream seen from real servers (wire-tools §1.5).
TOOL_QUIRKS = (
    "repeat_id_name",
    "empty_id_name",
    "role_every_delta",
    "args_object",
    "all_index_0",
    "start_index_1",
    "no_index",
    "no_type",
    "malformed_args",
)
# Request fields a "foreign" Anthropic upstream (Vertex, Bedrock, old relays) refuses.
REJECTABLE = ("cache_control", "ttl", "output_config", "context_management", "betas")
TOOL_CALL_MODES = ("auto", "all")
ERROR_STYLES = ("openai", "vllm", "vllm_flat")
REASONING_FIELDS = ("reasoning_content", "reasoning")

# Reasoning tokens produced when a request turns reasoning on (deepseek-reasoner, thinking enabled,
# OpenRouter `reasoning`) without the scenario saying how many.
DEFAULT_REASONING_TOKENS = 4
DEFAULT_KEEPALIVE_COUNT = 3


class ScenarioError(ValueError):
    """The FAKE directive (or a defaults update) is not valid."""


@dataclass(frozen=True)
class Scenario:
    """Everything a request can ask of the fake. All keys are optional in a directive."""

    tokens: int = 8
    token_delay_ms: float = 0.0
    first_token_delay_ms: float = 0.0
    reasoning_tokens: int | None = None
    finish_reason: str | None = None  # None: "tool_calls" when calling tools, else "stop"
    # error responses instead of a completion
    status: int | None = None
    retry_after: float | str | None = None
    retry_after_ms: float | None = None
    should_retry: bool | None = None
    error_code: str | int | None = None
    error_message: str | None = None
    context_length: bool = False
    error_style: str = "openai"
    # faults
    fault: str | None = None
    fault_after: int | None = None
    stall_s: float = 60.0
    keepalive_count: int | None = None
    keepalive_interval_ms: float = 0.0
    keepalive_newlines: int = 2
    done_after_error: bool = False
    # format details
    usage_form: str = "empty_delta"
    reasoning_field: str = "reasoning_content"
    cached_tokens: int | None = None  # forces the cache-read count (None: the cache rule)
    cache_min_tokens: int | None = None
    tag: str | None = None
    # Content sent one piece per chunk instead of "t1 t2 ..." (e.g. to split a word across two).
    pieces: list[str] | None = None
    # tools
    tool_calls: str | list[dict[str, Any]] | None = None
    tool_rounds: int = 1
    text_before_tools: int = 0
    tool_stream: str = "sequential"
    tool_quirks: list[str] | None = None
    chunk_chars: int = 8
    # reasoning, structured output, foreign upstreams, embeddings
    redacted_thinking: bool = False
    json_output: object = None
    reject: list[str] | None = None
    empty_data: bool = False

    def fault_threshold(self, total: int) -> int:
        """Token frames (content and tool-argument fragments) sent before a `*_after` fault
        fires, out of `total` (default: half of them)."""
        after = total // 2 if self.fault_after is None else self.fault_after
        return max(0, min(after, total))

    def finish(self, calling_tools: bool) -> str:
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if calling_tools else "stop"

    def has_quirk(self, quirk: str) -> bool:
        return self.tool_quirks is not None and quirk in self.tool_quirks

    def rejects(self, field: str) -> bool:
        return self.reject is not None and field in self.reject

    def keepalives(self, fmt: str) -> int:
        """Comment frames (blank lines for a DeepSeek JSON body) to send before the first data."""
        if self.keepalive_count is not None:
            return self.keepalive_count
        if self.fault == "keepalive_comments":
            return DEFAULT_KEEPALIVE_COUNT
        return 1 if fmt == "openrouter" else 0

    def reasoning_count(self, reasoning_requested: bool) -> int:
        if self.reasoning_tokens is not None:
            return self.reasoning_tokens
        return DEFAULT_REASONING_TOKENS if reasoning_requested else 0


_NUM = (int, float)
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "tokens": (int,),
    "token_delay_ms": _NUM,
    "first_token_delay_ms": _NUM,
    "reasoning_tokens": (int,),
    "finish_reason": (str,),
    "status": (int,),
    "retry_after": (int, float, str),
    "retry_after_ms": _NUM,
    "should_retry": (bool,),
    "error_code": (str, int),
    "error_message": (str,),
    "context_length": (bool,),
    "error_style": (str,),
    "fault": (str,),
    "fault_after": (int,),
    "stall_s": _NUM,
    "keepalive_count": (int,),
    "keepalive_interval_ms": _NUM,
    "keepalive_newlines": (int,),
    "done_after_error": (bool,),
    "usage_form": (str,),
    "reasoning_field": (str,),
    "cached_tokens": (int,),
    "cache_min_tokens": (int,),
    "tag": (str,),
    "pieces": (list,),
    "tool_calls": (str, list),
    "tool_rounds": (int,),
    "text_before_tools": (int,),
    "tool_stream": (str,),
    "tool_quirks": (list,),
    "chunk_chars": (int,),
    "redacted_thinking": (bool,),
    "json_output": (dict, list, str, int, float, bool),
    "reject": (list,),
    "empty_data": (bool,),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "fault": FAULTS,
    "usage_form": USAGE_FORMS,
    "error_style": ERROR_STYLES,
    "reasoning_field": REASONING_FIELDS,
    "tool_stream": TOOL_STREAMS,
}
_LIST_CHOICES: dict[str, tuple[str, ...]] = {"tool_quirks": TOOL_QUIRKS, "reject": REJECTABLE}
_NON_NEGATIVE = (
    "tokens",
    "token_delay_ms",
    "first_token_delay_ms",
    "reasoning_tokens",
    "fault_after",
    "stall_s",
    "keepalive_count",
    "keepalive_interval_ms",
    "cached_tokens",
    "cache_min_tokens",
    "retry_after_ms",
    "text_before_tools",
)
_POSITIVE = ("tool_rounds", "chunk_chars")

SCENARIO_KEYS = tuple(f.name for f in dataclasses.fields(Scenario))
assert set(SCENARIO_KEYS) == set(_KEY_TYPES)


def validate_overrides(raw: object) -> dict[str, Any]:
    """Check a directive / defaults object and return it as keyword overrides for `Scenario`."""
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{DIRECTIVE} directive must be a JSON object, got {type(raw).__name__}"
        )
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _KEY_TYPES:
            raise ScenarioError(
                f"unknown {DIRECTIVE} key {key!r}; known keys: {', '.join(SCENARIO_KEYS)}"
            )
        if value is None:
            out[key] = None
            continue
        allowed = _KEY_TYPES[key]
        is_bool = isinstance(value, bool)
        if (is_bool and bool not in allowed) or not isinstance(value, allowed):
            names = "/".join(t.__name__ for t in allowed)
            raise ScenarioError(f"{DIRECTIVE} key {key!r} must be {names}, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ScenarioError(
                f"{DIRECTIVE} key {key!r} must be one of {_CHOICES[key]}, got {value!r}"
            )
        if key in _NON_NEGATIVE and isinstance(value, _NUM) and value < 0:
            raise ScenarioError(f"{DIRECTIVE} key {key!r} must be >= 0, got {value!r}")
        if key == "status" and isinstance(value, int) and not 100 <= value <= 599:
            raise ScenarioError(f"{DIRECTIVE} key 'status' must be an HTTP status, got {value!r}")
        if key == "pieces" and not all(isinstance(piece, str) for piece in cast(list[Any], value)):
            raise ScenarioError(f"{DIRECTIVE} key 'pieces' must be a list of strings")
        if key in _POSITIVE and cast(int, value) < 1:
            raise ScenarioError(f"{DIRECTIVE} key {key!r} must be >= 1, got {value!r}")
        if key in _LIST_CHOICES:
            bad = [v for v in cast(list[Any], value) if v not in _LIST_CHOICES[key]]
            if bad:
                raise ScenarioError(
                    f"{DIRECTIVE} key {key!r} takes values from {_LIST_CHOICES[key]}, got {bad!r}"
                )
        if key == "tool_calls":
            _check_tool_calls(value)
        if key == "keepalive_newlines" and value not in (1, 2):
            raise ScenarioError(
                f"{DIRECTIVE} key 'keepalive_newlines' must be 1 or 2, got {value!r}"
            )
        out[key] = value
    return out


_CALL_KEYS = {"name", "arguments", "id"}


def _check_tool_calls(value: object) -> None:
    if isinstance(value, str):
        if value not in TOOL_CALL_MODES:
            raise ScenarioError(
                f"{DIRECTIVE} key 'tool_calls' must be one of {TOOL_CALL_MODES} or a list of calls"
            )
        return
    calls = cast(list[Any], value)
    if not calls:
        raise ScenarioError(f"{DIRECTIVE} key 'tool_calls' must not be an empty list")
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ScenarioError(
                f"{DIRECTIVE} 'tool_calls' entries must be objects with a string 'name'"
            )
        extra = set(call) - _CALL_KEYS
        if extra:
            raise ScenarioError(f"{DIRECTIVE} 'tool_calls' entry has unknown keys {sorted(extra)}")
        if "id" in call and not isinstance(call["id"], str):
            raise ScenarioError(f"{DIRECTIVE} 'tool_calls' entry 'id' must be a string")
        if "arguments" in call and not isinstance(call["arguments"], (dict, str)):
            raise ScenarioError(
                f"{DIRECTIVE} 'tool_calls' entry 'arguments' must be an object or a string"
            )


def apply(base: Scenario, overrides: dict[str, Any]) -> Scenario:
    return dataclasses.replace(base, **overrides)


def find_directive(text: str, model: str | None = None) -> dict[str, Any] | None:
    """The scenario for a request to ``model``: the JSON object after ``FAKE`` (every model),
    with the keys of ``FAKE:<model>{...}`` (that upstream model only) on top; None if neither."""
    found = _directive_at(text, DIRECTIVE + "{")
    if model is not None:
        scoped = _directive_at(text, f"{DIRECTIVE}:{model}{{")
        if scoped is not None:
            found = {**(found or {}), **scoped}
    return None if found is None else validate_overrides(found)


def _directive_at(text: str, marker: str) -> dict[str, Any] | None:
    idx = text.find(marker)
    if idx < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, idx + len(marker) - 1)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"invalid JSON after {marker[:-1]}: {exc}") from exc
    if not isinstance(obj, dict):
        raise ScenarioError(f"{marker[:-1]} must be followed by a JSON object")
    return obj


def token_strings(prefix: str, count: int) -> list[str]:
    """``["t1 ", "t2 ", ..., "tN"]``: one string per chunk; joined: ``"t1 t2 ... tN"``."""
    return [f"{prefix}{i}" + (" " if i < count else "") for i in range(1, count + 1)]
