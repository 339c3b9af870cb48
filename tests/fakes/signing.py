"""Signatures on reasoning the client must send back unchanged (Anthropic thinking and
redacted_thinking blocks, OpenRouter `reasoning_details`).

A signature binds a hash of the text it came with, under a MAC, so the fake can tell a forged or
mangled signature ("Invalid `signature`") from a genuine one sent with edited text ("cannot be
modified") without remembering anything. The key is fixed and public on purpose: tests may build
valid histories with `sign_thinking` directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Literal

KEY = b"fake-provider-reasoning-key"
THINKING_PREFIX = "EqQBCgIYAh"  # what real signatures start with
REDACTED_PREFIX = "EmwKAhgBEgy"
Verdict = Literal["ok", "forged", "modified"]


def _mac(*parts: bytes) -> bytes:
    return hmac.new(KEY, b"|".join(parts), hashlib.sha256).digest()[:16]


def _text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()[:12]


def sign_thinking(text: str) -> str:
    nonce = secrets.token_bytes(8)
    digest = _text_hash(text)
    raw = nonce + digest + _mac(b"thinking", nonce, digest)
    return THINKING_PREFIX + base64.b64encode(raw).decode()


def verify_thinking(signature: object, text: object) -> Verdict:
    if not isinstance(signature, str) or not signature.startswith(THINKING_PREFIX):
        return "forged"
    try:
        raw = base64.b64decode(signature[len(THINKING_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return "forged"
    if len(raw) != 36:
        return "forged"
    nonce, digest, mac = raw[:8], raw[8:20], raw[20:]
    if not hmac.compare_digest(mac, _mac(b"thinking", nonce, digest)):
        return "forged"
    if not isinstance(text, str) or not hmac.compare_digest(digest, _text_hash(text)):
        return "modified"
    return "ok"


def redacted_data() -> str:
    nonce = secrets.token_bytes(8)
    return REDACTED_PREFIX + base64.b64encode(nonce + _mac(b"redacted", nonce)).decode()


def verify_redacted(data: object) -> bool:
    if not isinstance(data, str) or not data.startswith(REDACTED_PREFIX):
        return False
    try:
        raw = base64.b64decode(data[len(REDACTED_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 24 and hmac.compare_digest(raw[8:], _mac(b"redacted", raw[:8]))
