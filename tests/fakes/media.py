"""Images and documents as providers inspect them: data URLs, the real type of base64 bytes
(magic numbers), and image dimensions (PNG, GIF, JPEG, WebP headers)."""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from typing import Any

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]*/?[\w.+-]*)?(?P<params>(;[\w-]+=[^;,]*)*);base64,")


@dataclass(frozen=True)
class DataUrl:
    mime: str
    data: str  # the base64 text


def parse_data_url(url: str) -> DataUrl | None:
    match = _DATA_URL.match(url)
    if match is None:
        return None
    return DataUrl(match.group("mime") or "", url[match.end() :])


def decode_b64(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def sniff(raw: bytes) -> str | None:
    """The media type the bytes really are, when recognisable."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if raw.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if raw.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    if raw.startswith(b"%PDF"):
        return "application/pdf"
    return None


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(raw):
        if raw[i] != 0xFF:
            return None
        marker = raw[i + 1]
        length = struct.unpack(">H", raw[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", raw[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def image_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) from the header, or None when the header is cut short or unknown."""
    kind = sniff(raw)
    if kind == "image/png" and len(raw) >= 24:
        width, height = struct.unpack(">II", raw[16:24])
        return width, height
    if kind == "image/gif" and len(raw) >= 10:
        width, height = struct.unpack("<HH", raw[6:10])
        return width, height
    if kind == "image/jpeg":
        return _jpeg_size(raw)
    if kind == "image/webp" and len(raw) >= 30:
        chunk = raw[12:16]
        if chunk == b"VP8X":
            width = int.from_bytes(raw[24:27], "little") + 1
            height = int.from_bytes(raw[27:30], "little") + 1
            return width, height
        if chunk == b"VP8L":
            bits = int.from_bytes(raw[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", raw[26:30])
            return width & 0x3FFF, height & 0x3FFF
    return None


_MEDIA_PARTS = ("image_url", "input_audio", "file", "image", "document")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _summary(part: dict[str, Any], path: str) -> dict[str, Any]:
    """What arrived in one media part, flattened for assertions."""
    kind = part["type"]
    out: dict[str, Any] = {"path": path, "type": kind}
    url = None
    data: str | None = None
    if kind == "image_url":
        inner = _dict(part.get("image_url"))
        url, out["detail"] = inner.get("url"), inner.get("detail")
    elif kind == "file":
        inner = _dict(part.get("file"))
        url, out["filename"] = inner.get("file_data"), inner.get("filename")
        if inner.get("file_id") is not None:
            out |= {"source": "file_id", "file_id": inner["file_id"]}
    elif kind == "input_audio":
        inner = _dict(part.get("input_audio"))
        out |= {"source": "base64", "format": inner.get("format")}
        data = inner.get("data") if isinstance(inner.get("data"), str) else None
    else:  # Anthropic image / document blocks
        source = _dict(part.get("source"))
        out |= {"source": source.get("type"), "media_type": source.get("media_type")}
        url = source.get("url")
        data = source.get("data") if source.get("type") == "base64" else None
        if kind == "document":
            out["title"] = part.get("title")
    if isinstance(url, str):
        parsed = parse_data_url(url)
        if parsed is not None:
            out |= {"source": "data", "media_type": parsed.mime}
            data = parsed.data
        else:
            out |= {"source": "url", "url": url}
    if data is not None:
        raw = decode_b64(data)
        out["bytes"] = None if raw is None else len(raw)
        if raw is not None and kind in ("image_url", "image"):
            out["size"] = image_size(raw)
    return out


def part_summaries(messages: object) -> list[dict[str, Any]]:
    """Every media part of a request (also inside Anthropic tool results), in order."""
    found: list[dict[str, Any]] = []

    def walk(blocks: object, path: str) -> None:
        for j, part in enumerate(blocks if isinstance(blocks, list) else []):
            if not isinstance(part, dict):
                continue
            if part.get("type") in _MEDIA_PARTS:
                found.append(_summary(part, f"{path}.{j}"))
            elif part.get("type") == "tool_result":
                walk(part.get("content"), f"{path}.{j}.content")

    for i, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict):
            walk(message.get("content"), f"messages.{i}.content")
    return found
