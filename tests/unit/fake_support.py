"""Helpers for the fake-provider tests: raw HTTP, SSE frame parsing, request bodies, tools."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import httpx

from tests.fakes.provider import FakeProvider

KEY = "sk-fake-test-key"
AUTH = {"authorization": f"Bearer {KEY}"}
ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
OPENAI_PATH = "/openai/v1/chat/completions"
DEEPSEEK_PATH = "/deepseek/chat/completions"
OPENROUTER_PATH = "/openrouter/api/v1/chat/completions"
ANTHROPIC_PATH = "/anthropic/v1/messages"
CHAT_PATHS = {"openai": OPENAI_PATH, "deepseek": DEEPSEEK_PATH, "openrouter": OPENROUTER_PATH}

WEATHER_PARAMS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "units": {"type": "string", "enum": ["c", "f"]},
        "days": {"type": "integer", "minimum": 1},
    },
    "required": ["city", "units"],
}
TIME_PARAMS: dict[str, Any] = {"type": "object", "properties": {"tz": {"type": "string"}}}


def directive(**scenario: Any) -> str:
    return "FAKE" + json.dumps(scenario)


def openai_tools() -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMS}},
        {"type": "function", "function": {"name": "get_time", "parameters": TIME_PARAMS}},
    ]


def anthropic_tools() -> list[dict[str, Any]]:
    return [
        {"name": "get_weather", "input_schema": WEATHER_PARAMS},
        {"name": "get_time", "input_schema": TIME_PARAMS},
    ]


def post(
    fake: FakeProvider, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    hdrs = (ANTHROPIC_HEADERS if path == ANTHROPIC_PATH else AUTH) if headers is None else headers
    return httpx.post(fake.base_url + path, json=body, headers=hdrs, timeout=30)


def frames(raw: bytes) -> list[bytes]:
    return [f for f in raw.split(b"\n\n") if f]


def data_chunks(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(f[len(b"data: ") :]) for f in frames(raw) if f.startswith(b"data: {")]


def anthropic_events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) for each typed Anthropic SSE event."""
    out: list[tuple[str, dict[str, Any]]] = []
    for frame in frames(raw):
        if frame.startswith(b"event: "):
            name, data = frame.split(b"\ndata: ", 1)
            out.append((name[len(b"event: ") :].decode(), json.loads(data)))
    return out


def deltas(raw: bytes) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in data_chunks(raw) if c.get("choices")]


def tool_entries(raw: bytes) -> list[list[dict[str, Any]]]:
    """`delta.tool_calls` of every chunk that has one."""
    return [d["tool_calls"] for d in deltas(raw) if "tool_calls" in d]


def chat_body(text: str, *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "model": "some-model",
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    } | extra


def anthropic_body(text: str | list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
    } | extra


def png(width: int = 2, height: int = 1) -> bytes:
    """A real (tiny, grey) PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
