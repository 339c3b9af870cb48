"""Lease renewal on a thread of its own, with its own Redis connection: a worker whose event loop
is starved (hundreds of streams on a loaded machine) still renews its leases in time, so being
slow never makes recovery take its jobs away. The loop is told which jobs to stop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import redis

from shared.keys import RedisKeys
from shared.leases import parse_renewal, renewal_call
from shared.lua import lua_source

log = logging.getLogger(__name__)

# A sync client may time out (no asyncio cancellation to protect here); a lost Redis is retried
# at the next round.
SOCKET_TIMEOUT_S = 5.0


class LeaseKeeper:
    """Renews the leases of ``running()`` jobs three times per TTL until ``stop()``;
    ``cancel(job_id)`` runs on ``loop`` for a job flagged for cancelling or whose lease lapsed."""

    def __init__(
        self,
        *,
        redis_url: str,
        keys: RedisKeys,
        worker_id: str,
        running: Callable[[], list[str]],
        cancel: Callable[[str], object],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.keys = keys
        self.worker_id = worker_id
        self.running = running
        self.cancel = cancel
        self.loop = loop
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )
        self._renew = self._redis.register_script(lua_source("renew_leases.lua"))
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm-leases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=SOCKET_TIMEOUT_S * 2)
        self._redis.close()

    def renew_once(self) -> None:
        job_ids = self.running()
        if not job_ids:
            return
        keys, args = renewal_call(self.keys, self.worker_id, job_ids)
        renewal = parse_renewal(self._renew(keys=keys, args=args))
        for job_id in renewal.cancel:
            self.loop.call_soon_threadsafe(self.cancel, job_id)
        for job_id in renewal.lost:
            # Its lease lapsed (Redis was away longer than the lease): another worker may have
            # taken the job over, and this worker's appends are refused from now on.
            log.warning("job %s: this worker's lease lapsed; stopping it", job_id)
            self.loop.call_soon_threadsafe(self.cancel, job_id)

    def _run(self) -> None:
        interval_s = self.keys.lease_ttl_s / 3
        while not self._stopping.wait(interval_s):
            try:
                self.renew_once()
            except Exception:
                log.warning("renewing leases failed; retrying", exc_info=True)
