"""Client API keys: stored only as hashes, each with its allowed models, limits and budget.

A key reads ``lgw-<id>-<secret>``: the id finds the record in one lookup, the secret is checked
against its SHA-256 in constant time. The plaintext exists only in the answer to ``create``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Literal, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.bounds import FiniteFloat, PositiveInt64
from shared.keys import RedisKeys

KEY_PREFIX = "lgw"


class KeyLimits(BaseModel):
    """Per-key rate limits; None means unlimited."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: PositiveInt64 | None = None
    tokens_per_minute: PositiveInt64 | None = None
    concurrent_jobs: PositiveInt64 | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in self.model_dump().values())


class KeyBudget(BaseModel):
    """A spend limit per period; requests are refused once it is reached."""

    model_config = ConfigDict(extra="forbid")

    limit_usd: FiniteFloat = Field(gt=0)
    period: Literal["day", "month"] = "month"
    warn_at_fraction: float = Field(0.8, gt=0, le=1, description="soft limit: warn from here")


class KeySettings(BaseModel):
    """What an admin sets on a key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    allowed_models: list[str] | None = Field(None, description="None: every model")
    limits: KeyLimits = Field(default_factory=KeyLimits)
    budget: KeyBudget | None = None


class KeyUpdate(BaseModel):
    """A partial change to a key's settings."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=128)
    allowed_models: list[str] | None = None
    limits: KeyLimits | None = None
    budget: KeyBudget | None = None


class KeyRecord(KeySettings):
    """A stored key: its settings, never its secret."""

    id: str
    created_at: float
    revoked: bool = False
    secret_sha256: str = Field(exclude=True)

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """``lgw-<id>-<secret>`` as (id, secret), or None for anything else."""
    prefix, _, rest = plaintext.partition("-")
    key_id, _, secret = rest.partition("-")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


class KeyStore:
    """Keys in Redis: one hash per key, and a set of all ids for listing."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def create(self, settings: KeySettings) -> tuple[KeyRecord, str]:
        """A new key and its plaintext, which is shown once and never stored."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
        record = KeyRecord(
            **settings.model_dump(),
            id=key_id,
            created_at=time.time(),
            secret_sha256=secret_digest(secret),
        )
        await self._save(record)
        return record, f"{KEY_PREFIX}-{key_id}-{secret}"

    async def get(self, key_id: str) -> KeyRecord | None:
        raw = cast("bytes | None", await self.redis.get(self.keys.api_key(key_id)))
        return None if raw is None else KeyRecord.model_validate_json(raw)

    async def list(self) -> list[KeyRecord]:
        members = cast("set[bytes]", await self.redis.smembers(self.keys.api_key_index))
        ids = sorted(m.decode() for m in members)
        records = [await self.get(key_id) for key_id in ids]
        return [r for r in records if r is not None]

    async def update(self, key_id: str, change: KeyUpdate) -> KeyRecord | None:
        record = await self.get(key_id)
        if record is None:
            return None
        updated = KeyRecord.model_validate(
            {
                **record.model_dump(),
                **change.model_dump(exclude_unset=True),
                "secret_sha256": record.secret_sha256,
            }
        )
        await self._save(updated)
        return updated

    async def revoke(self, key_id: str) -> KeyRecord | None:
        record = await self.get(key_id)
        if record is None:
            return None
        revoked = record.model_copy(update={"revoked": True})
        await self._save(revoked)
        return revoked

    async def verify(self, plaintext: str) -> KeyRecord | None:
        """The live record a key names, or None (malformed, unknown, wrong secret, revoked)."""
        parsed = parse_key(plaintext)
        if parsed is None:
            return None
        key_id, secret = parsed
        record = await self.get(key_id)
        if record is None or record.revoked:
            return None
        if not hmac.compare_digest(record.secret_sha256, secret_digest(secret)):
            return None
        return record

    async def _save(self, record: KeyRecord) -> None:
        # The hash of the secret is stored, though never shown: `public()` leaves it out.
        stored = {**record.model_dump(mode="json"), "secret_sha256": record.secret_sha256}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.api_key(record.id), orjson.dumps(stored))
            pipe.sadd(self.keys.api_key_index, record.id)
            # Gateways keep verified keys a moment: this makes them drop this one now.
            pipe.publish(self.keys.api_key_channel, record.id)
            await pipe.execute()
