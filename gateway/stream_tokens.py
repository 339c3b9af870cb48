"""Stream tokens: short-lived, signed, scoped to one job (or one stream id) and one owner.

A browser's EventSource cannot send ``Authorization``, and a long-lived key must never sit in a
URL, so an event route also takes ``?token=``: the key's owner asks for one (``POST
/api/v1/stream-tokens``, or a job's ``links.event_source``) and hands the URL to the page. A
token read back names its owner and job; it is refused once expired, and for any other job.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.errors import Forbidden, NotConfigured, Unauthorized
from shared.settings import StreamTokenConfig

# Tokens of other purposes signed with the same secret can never pass for these.
SALT = "llm-gateway stream token v1"
# A client's own id for a stream (its job's id), as GraphQL's streamId takes them.
STREAM_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """What a valid token allows: reading (or starting, once) the job ``job_id`` as ``owner``."""

    owner: str
    job_id: str

    def check_job(self, job_id: str) -> None:
        if job_id != self.job_id:
            raise Forbidden("this stream token is for another job")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: float


class StreamTokens:
    """Makes and checks tokens with the configured secret; without one, tokens are off."""

    def __init__(self, config: StreamTokenConfig) -> None:
        self.ttl_s = config.ttl_s
        secret = config.secret.get_secret_value() if config.secret is not None else None
        self._signer = (
            URLSafeTimedSerializer(
                secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
            )
            if secret
            else None
        )

    @property
    def enabled(self) -> bool:
        return self._signer is not None

    def issue(self, grant: StreamGrant) -> IssuedToken:
        """A token for ``grant``, valid ``ttl_s`` from now."""
        signer = self._require()
        token = signer.dumps({"o": grant.owner, "j": grant.job_id})
        return IssuedToken(str(token), time.time() + self.ttl_s)

    def read(self, token: str) -> StreamGrant:
        """The grant a token carries; Unauthorized when it is forged, mangled or expired."""
        signer = self._require()
        try:
            payload = signer.loads(token, max_age=self.ttl_s)
        except SignatureExpired as exc:
            raise Unauthorized("the stream token has expired; ask for a new one") from exc
        except BadSignature as exc:
            raise Unauthorized("the stream token is not valid") from exc
        if not isinstance(payload, dict) or not all(
            isinstance(payload.get(k), str) for k in ("o", "j")
        ):
            raise Unauthorized("the stream token is not valid")
        return StreamGrant(owner=payload["o"], job_id=payload["j"])

    def _require(self) -> URLSafeTimedSerializer:
        if self._signer is None:
            raise NotConfigured(
                "stream tokens are off: set LLM_GATEWAY_STREAM_TOKENS__SECRET on every gateway"
            )
        return self._signer
