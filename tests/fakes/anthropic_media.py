"""Anthropic image and document blocks, checked as the API does (wire-tools §4.5): the declared
media type against the bytes, the 10 MB base64 limit, 8000 px per side, and 2000 px per side
once a request holds more than 20 images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .media import IMAGE_TYPES, decode_b64, image_size, sniff

MAX_IMAGE_B64 = 10 * 1024 * 1024
MAX_SIDE = 8000
MANY_IMAGES = 20
MANY_IMAGES_SIDE = 2000
_DOC_SOURCES = ("base64", "content", "text", "url")


@dataclass
class ImageTally:
    """Sizes seen so far, for the many-image rule that only applies once all are counted."""

    count: int = 0
    sized: list[tuple[str, int]] = field(default_factory=list)  # (path, longest side)

    def many_image_problem(self) -> str | None:
        if self.count <= MANY_IMAGES:
            return None
        for path, side in self.sized:
            if side > MANY_IMAGES_SIDE:
                return (
                    f"{path}.source.base64.data: At least one of the image dimensions exceed max "
                    f"allowed size for many-image requests: {MANY_IMAGES_SIDE} pixels"
                )
        return None


def _url_problem(source: dict[str, Any], path: str) -> str | None:
    url = source.get("url")
    if not isinstance(url, str):
        return f"{path}.source.url.url: Field required"
    if not url.startswith(("http://", "https://")):  # best-effort text
        return f"{path}.source.url.url: Input should be a valid URL"
    return None


def image_problem(block: dict[str, Any], path: str, tally: ImageTally) -> str | None:
    tally.count += 1
    source = block.get("source")
    if not isinstance(source, dict):
        return f"{path}.source: Field required"
    kind = source.get("type")
    if kind == "url":
        return _url_problem(source, path)
    if kind == "file":
        return (
            None
            if isinstance(source.get("file_id"), str)
            else f"{path}.source.file.file_id: Field required"
        )
    if kind != "base64":
        return (
            f"{path}.source: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'base64', 'file', 'url'"
        )
    declared = source.get("media_type")
    if declared not in IMAGE_TYPES:
        return (
            f"{path}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
            "'image/gif' or 'image/webp'"
        )
    data = source.get("data")
    raw = decode_b64(data) if isinstance(data, str) else None
    if raw is None or not isinstance(data, str):
        return f"{path}.source.base64.data: Could not process image"
    if len(data) > MAX_IMAGE_B64:
        return (
            f"{path}.source.base64: image exceeds 10 MB maximum: {len(data)} bytes > "
            f"{MAX_IMAGE_B64} bytes"
        )
    actual = sniff(raw)
    if actual is None:
        return f"{path}.source.base64.data: Could not process image"
    if actual != declared:
        return (
            f"{path}.source.base64.data: The image was specified using the {declared} media "
            f"type, but the image appears to be a {actual} image"
        )
    size = image_size(raw)
    if size is not None:
        side = max(size)
        if side > MAX_SIDE:
            return (
                f"{path}.source.base64.data: At least one of the image dimensions exceed max "
                f"allowed size: {MAX_SIDE} pixels"
            )
        tally.sized.append((path, side))
    return None


def document_problem(block: dict[str, Any], path: str) -> str | None:
    source = block.get("source")
    if not isinstance(source, dict):
        return f"{path}.source: Field required"
    kind = source.get("type")
    if kind not in _DOC_SOURCES:
        return (
            f"{path}.source: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'base64', 'content', 'text', 'url'"
        )
    if kind == "url":
        return _url_problem(source, path)
    if kind == "content":
        return (
            None
            if isinstance(source.get("content"), (str, list))
            else f"{path}.source.content.content: Field required"
        )
    if kind == "text":
        if source.get("media_type") != "text/plain":
            return f"{path}.source.text.media_type: Input should be 'text/plain'"
        return (
            None
            if isinstance(source.get("data"), str)
            else f"{path}.source.text.data: Field required"
        )
    if source.get("media_type") != "application/pdf":
        return f"{path}.source.base64.media_type: Input should be 'application/pdf'"
    data = source.get("data")
    raw = decode_b64(data) if isinstance(data, str) else None
    if raw is None or sniff(raw) != "application/pdf":
        return f"{path}.source.base64.data: The PDF specified was not valid."
    return None
