"""Verified API keys, kept a moment in the gateway process: one Redis read and one parse fewer
per request.

Revocation stays immediate: every change to a key (``KeyStore``) is announced on the key
channel, which each gateway's event hub follows and which drops the key here at once; the
whole cache is dropped when the hub reconnects (it may have missed an announcement), and an
entry is trusted for ``ttl_s`` at most in any case.
"""

from __future__ import annotations

import hmac
import time

from shared.apikeys import KeyRecord, KeyStore, parse_key, secret_digest


class KeyCache:
    def __init__(self, store: KeyStore, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._records: dict[str, tuple[KeyRecord, float]] = {}

    async def verify(self, plaintext: str) -> KeyRecord | None:
        """The live record a key names, or None (malformed, unknown, wrong secret, revoked)."""
        parsed = parse_key(plaintext)
        if parsed is None:
            return None
        key_id, secret = parsed
        record = self._fresh(key_id)
        if record is None:
            record = await self.store.get(key_id)
            if record is None:
                return None  # unknown ids are not kept: they would fill the cache
            if self.ttl_s > 0:
                self._records[key_id] = (record, time.monotonic() + self.ttl_s)
        if record.revoked or not hmac.compare_digest(record.secret_sha256, secret_digest(secret)):
            return None
        return record

    def forget(self, key_id: str) -> None:
        """A key changed (here, or on another gateway: the key channel said so)."""
        self._records.pop(key_id, None)

    def announced(self, message: bytes) -> None:
        """A message of the key channel: the id of a key that changed."""
        self.forget(message.decode())

    def clear(self) -> None:
        self._records.clear()

    def _fresh(self, key_id: str) -> KeyRecord | None:
        cached = self._records.get(key_id)
        if cached is None:
            return None
        record, until = cached
        if time.monotonic() >= until:
            del self._records[key_id]
            return None
        return record
