"""Stream tokens: scoped to one job and owner, refused once expired, forged or unsigned."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from gateway.stream_tokens import StreamGrant, StreamTokens
from shared.errors import Forbidden, NotConfigured, Unauthorized
from shared.settings import StreamTokenConfig

GRANT = StreamGrant(owner="key1", job_id="job1")


def tokens(secret: str | None = "s3cret", ttl_s: int = 60) -> StreamTokens:
    return StreamTokens(
        StreamTokenConfig(secret=SecretStr(secret) if secret else None, ttl_s=ttl_s)
    )


def test_a_token_names_its_owner_and_job_only() -> None:
    issued = tokens().issue(GRANT)
    assert issued.expires_at == pytest.approx(time.time() + 60, abs=5)
    grant = tokens().read(issued.token)  # any gateway with the same secret reads it
    assert grant == GRANT
    grant.check_job("job1")
    with pytest.raises(Forbidden):
        grant.check_job("job2")


def test_an_expired_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    issued = tokens(ttl_s=60).issue(GRANT)
    later = SimpleNamespace(time=lambda: time.time() + 61)
    monkeypatch.setattr("itsdangerous.timed.time", later)  # the signer's clock, a minute on
    with pytest.raises(Unauthorized, match="expired"):
        tokens(ttl_s=60).read(issued.token)


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "x" + t, lambda t: ""])
def test_a_forged_token_is_refused(mangle: object) -> None:
    token = tokens().issue(GRANT).token
    with pytest.raises(Unauthorized):
        tokens().read(mangle(token))  # type: ignore[operator]
    with pytest.raises(Unauthorized):
        tokens(secret="another").read(token)


def test_without_a_secret_tokens_are_off() -> None:
    off = tokens(secret=None)
    assert not off.enabled
    with pytest.raises(NotConfigured, match="STREAM_TOKENS__SECRET"):
        off.issue(GRANT)
