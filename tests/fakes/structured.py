"""Structured output: the JSON a request asks for (OpenAI-family `response_format`, Anthropic
`output_config.format` or the beta `output_format`), generated from its schema."""

from __future__ import annotations

import json
from typing import Any

from .prompt import text_of
from .scenario import Scenario
from .schema_gen import example

STRUCTURED_BETA = "structured-outputs-2025-11-13"


def _compact(value: object) -> str:
    # OpenAI's strict json_schema answers are compact: {"city":"San Francisco",...}
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def mentions_json(body: dict[str, Any]) -> bool:
    messages = body.get("messages")
    texts = [
        text_of(m.get("content"))
        for m in (messages if isinstance(messages, list) else [])
        if isinstance(m, dict)
    ]
    return "json" in " ".join(texts).lower()


def requested_schema(body: dict[str, Any], anthropic: bool) -> tuple[str, object] | None:
    """("json_schema", schema) or ("json_object", None) when JSON output is asked for."""
    if anthropic:
        config = body.get("output_config")
        fmt = config.get("format") if isinstance(config, dict) else None
        if not isinstance(fmt, dict):
            fmt = body.get("output_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return "json_schema", fmt.get("schema")
        return None
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return "json_object", None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        return "json_schema", spec.get("schema") if isinstance(spec, dict) else None
    return None


def structured_text(sc: Scenario, body: dict[str, Any], anthropic: bool) -> str | None:
    """The answer's JSON text, or None for a plain-text answer. `json_output` overrides it (a
    string is sent verbatim, so a test can also get invalid JSON)."""
    if sc.json_output is not None:
        return sc.json_output if isinstance(sc.json_output, str) else _compact(sc.json_output)
    wanted = requested_schema(body, anthropic)
    if wanted is None:
        return None
    kind, schema = wanted
    if kind == "json_object":
        answer = " ".join(f"t{i}" for i in range(1, sc.tokens + 1))
        return _compact({"answer": answer})
    return _compact(example(schema if schema is not None else {"type": "object"}))
