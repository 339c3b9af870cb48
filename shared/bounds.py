"""Bounds every parsed input keeps, so that nothing a client sends fails later in orjson, Redis,
Lua or a provider: integers within 64 bits, finite floats, and JSON values of bounded depth.

``json_too_deep`` looks at raw JSON before a parser that recurses (the stdlib's, GraphQL's) sees
it: 100,000 nested brackets make Python's parser raise RecursionError.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Deep enough for any request body a provider takes (JSON schemas included).
MAX_JSON_DEPTH = 64

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
NonNegativeInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
PositiveInt64 = Annotated[int, Field(ge=1, le=INT64_MAX)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


def check_json_value(value: Any) -> Any:
    """``value`` unchanged if every integer in it fits 64 bits, every float is finite and it
    nests at most MAX_JSON_DEPTH deep; else ValueError (a 422 naming the field)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                raise ValueError("integers must fit in 64 bits")
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValueError("numbers must be finite")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return value


JsonValue = Annotated[Any, AfterValidator(check_json_value)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests brackets deeper than ``limit`` (strings do not count). Stops
    at the first bracket past the limit, so a hostile body costs little."""
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
