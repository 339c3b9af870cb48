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
    finish_reason: str = "stop"
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
    cached_tokens: int = 0
    tag: str | None = None
    # Content sent one piece per chunk instead of "t1 t2 ..." (e.g. to split a word across two).
    pieces: list[str] | None = None

    def fault_threshold(self) -> int:
        """Content tokens sent before a `*_after` fault fires (default: half of them)."""
        after = self.tokens // 2 if self.fault_after is None else self.fault_after
        return max(0, min(after, self.tokens))

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
    "tag": (str,),
    "pieces": (list,),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "fault": FAULTS,
    "usage_form": USAGE_FORMS,
    "error_style": ERROR_STYLES,
    "reasoning_field": REASONING_FIELDS,
}
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
    "retry_after_ms",
)

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
        if key == "keepalive_newlines" and value not in (1, 2):
            raise ScenarioError(
                f"{DIRECTIVE} key 'keepalive_newlines' must be 1 or 2, got {value!r}"
            )
        out[key] = value
    return out


def apply(base: Scenario, overrides: dict[str, Any]) -> Scenario:
    return dataclasses.replace(base, **overrides)


def _text_of(content: object) -> str:
    """Text of a message `content`: a string, or a list of parts/blocks (OpenAI and Anthropic)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces: list[str] = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    pieces.append(text)
                nested = part.get("content")  # Anthropic tool_result blocks
                if isinstance(nested, (str, list)):
                    pieces.append(_text_of(nested))
        return " ".join(pieces)
    return ""


def last_user_text(messages: object) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


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


def count_prompt_words(messages: object, system: object = None) -> int:
    """prompt_tokens: whitespace-separated words of all message contents (+ Anthropic `system`)."""
    total = len(_text_of(system).split())
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                total += len(_text_of(message.get("content")).split())
    return total


def token_strings(prefix: str, count: int) -> list[str]:
    """``["t1 ", "t2 ", ..., "tN"]``: one string per chunk; joined: ``"t1 t2 ... tN"``."""
    return [f"{prefix}{i}" + (" " if i < count else "") for i in range(1, count + 1)]
