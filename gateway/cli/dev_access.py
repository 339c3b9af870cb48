"""The keys a local ``up`` hands out: the admin key, and a client key to try things with; kept
from the last run when it ran with the same ``--data-dir``."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Literal

from redis.asyncio import Redis

from gateway.cli.state_file import UpState
from shared.apikeys import KeySettings, KeyStore
from shared.settings import Settings

DEV_KEY_NAME = "development (llm-gateway up)"


@dataclass(frozen=True)
class DevAccess:
    admin_key: str = field(repr=False)
    dev_key: str = field(repr=False)
    # given: LLM_GATEWAY_ADMIN_KEY or the config; kept: from the data dir's last run.
    admin_key_origin: Literal["given", "generated", "kept"]
    dev_key_kept: bool
    # None when the settings give one (every gateway must share it, so `up` keeps its own).
    stream_token_secret: str | None = field(default=None, repr=False)


def dev_access(settings: Settings, previous: UpState | None) -> DevAccess:
    """The admin key (given, else the last run's, else a new one), the development key (the
    last run's while Redis still knows it, else a new one) and the stream tokens' secret
    (given, else the last run's, else a new one)."""
    origin: Literal["given", "generated", "kept"]
    if settings.admin_key is not None:
        admin_key, origin = settings.admin_key.get_secret_value(), "given"
    elif previous is not None and previous.admin_key:
        admin_key, origin = previous.admin_key, "kept"
    else:
        admin_key, origin = secrets.token_urlsafe(24), "generated"
    old_dev_key = previous.dev_key if previous is not None else None
    dev_key, kept = asyncio.run(_dev_key(settings, old_dev_key))
    secret = None
    if settings.stream_tokens.secret is None:
        kept_secret = previous.stream_token_secret if previous is not None else None
        secret = kept_secret or secrets.token_urlsafe(32)
    return DevAccess(admin_key, dev_key, origin, kept, secret)


async def _dev_key(settings: Settings, old: str | None) -> tuple[str, bool]:
    redis = Redis.from_url(settings.redis_url)
    try:
        store = KeyStore(redis, settings.keys)
        if old is not None and await store.verify(old) is not None:
            return old, True
        _, plaintext = await store.create(KeySettings(name=DEV_KEY_NAME))
        return plaintext, False
    finally:
        await redis.aclose()
