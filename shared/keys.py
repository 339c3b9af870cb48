"""Every Redis key and channel the gateway and workers use, each with its lifetime beside it.

Nothing else builds a key name. A job's keys share the hash tag ``{<job id>}`` so that its
scripts touch one slot on a Redis Cluster. The Celery broker's own keys (the queue lists,
``unacked``) are named by kombu and live in the same database; the prefix keeps ours apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Key names under one prefix, plus the lifetimes that go with them."""

    prefix: str = "llm"
    # A job's hash and event stream outlive its deadline by this much while it is unfinished, so
    # an abandoned job still expires.
    live_margin_s: int = 3600
    # Once a job ends: how long its result and its replayable events stay readable.
    result_ttl_s: int = 86_400
    events_ttl_s: int = 3600
    # A batch line's job once its result is in the batch's records: kept this long only.
    recorded_batch_job_ttl_s: int = 600
    # A worker's lease on the job it runs; renewed a few times per TTL while it runs. Expired
    # lease + status running = the worker died: any worker's recovery tick ends the job
    # (worker_lost) or queues it again. Settings: job_lease_ttl_s.
    lease_ttl_s: int = 10
    # Workers refresh their heartbeat well within this window.
    worker_heartbeat_ttl_s: int = 15
    provider_stats_ttl_s: int = 900
    models_cache_ttl_s: int = 300
    # A stored Responses API response, from its creation (OpenAI keeps them 30 days).
    response_ttl_s: int = 30 * 86_400

    def job(self, job_id: str) -> str:
        """Hash: spec, owner, status, timings, result. TTL: deadline + live_margin_s, then
        result_ttl_s after the job ends."""
        return f"{self.prefix}:job:{{{job_id}}}"

    @property
    def job_affixes(self) -> tuple[str, str]:
        """``job(id)`` is the first + id + the second (for scripts that find a job by id)."""
        return f"{self.prefix}:job:{{", "}"

    def job_events(self, job_id: str) -> str:
        """Stream of the job's events, entry id ``0-<seq>``. Same TTLs as the job, events_ttl_s
        after it ends."""
        return f"{self.prefix}:job:{{{job_id}}}:events"

    def job_channel(self, job_id: str) -> str:
        """Pub/sub channel: a message per append, its events one per line (no storage, no
        TTL)."""
        return f"{self.prefix}:job:{{{job_id}}}:ch"

    def job_lease(self, job_id: str) -> str:
        """String holding the worker id running the job. TTL: lease_ttl_s, refreshed."""
        return f"{self.prefix}:job:{{{job_id}}}:lease"

    @property
    def leased_jobs(self) -> str:
        """Sorted set of running jobs, scored by when their lease lapses (unix ms, Redis TIME),
        so recovery finds lapsed leases without scanning. No TTL; a job leaves it when it ends
        or is queued again."""
        return f"{self.prefix}:jobs:leased"

    @property
    def queued_jobs(self) -> str:
        """Sorted set of jobs handed to the broker and not yet claimed, scored by when they
        were (last) enqueued (unix ms). Recovery enqueues again one that no live worker took:
        its task sat in a dead worker's prefetch, or the broker lost it. No TTL; a job leaves
        it when claimed or ended."""
        return f"{self.prefix}:jobs:queued"

    # kombu's Redis transport names these (its defaults): the hash of delivered, unacknowledged
    # messages by delivery tag, and its index by delivery time. Our task messages carry the job
    # id as their delivery tag, so recovery finds a job's unacknowledged message in O(1).
    broker_unacked: str = "unacked"
    broker_unacked_index: str = "unacked_index"

    def circuit(self, provider: str, model: str) -> tuple[str, str]:
        """Hash (state, since) and sorted set (failure times) of one circuit breaker. TTL: a
        few windows, refreshed on every state change and failure."""
        base = f"{self.prefix}:circuit:{{{self.circuit_name(provider, model)}}}"
        return base, f"{base}:failures"

    @staticmethod
    def circuit_name(provider: str, model: str) -> str:
        """``provider|model``: how a circuit is named in its keys and on the circuit channel."""
        return f"{provider}|{model}"

    @property
    def circuit_pattern(self) -> str:
        """SCAN pattern matching every circuit's keys."""
        return f"{self.prefix}:circuit:*"

    def circuit_name_of(self, key: str) -> str | None:
        """The circuit a state hash belongs to; None for any other key (a failures set)."""
        head = f"{self.prefix}:circuit:{{"
        if key.startswith(head) and key.endswith("}"):
            return key[len(head) : -1]
        return None

    def provider_stats(self, provider: str, minute: int) -> str:
        """Hash of one provider's counters in one minute (requests, failures, ttft_ms_sum,
        ttft_count). TTL: provider_stats_ttl_s."""
        return f"{self.prefix}:pstats:{provider}:{minute}"

    def provider_models(self, provider: str) -> str:
        """JSON of what the provider's /models returned (model ids, or why there are none) when
        a worker last asked. TTL: models_cache_ttl_s."""
        return f"{self.prefix}:pmodels:{provider}"

    def provider_models_refresh(self, provider: str) -> str:
        """The worker that lists the provider's models this round (SET NX). TTL: half of
        models_cache_ttl_s, so the list is renewed before it expires."""
        return f"{self.prefix}:pmodels-refresh:{provider}"

    def cache_entry(self, namespace: str, digest: str) -> str:
        """JSON of one cached answer (its events, result and usage). TTL: the cache's ttl_s,
        or the request's own, set when the answer is stored."""
        return f"{self.prefix}:cache:{namespace}:{digest}"

    def cache_namespace_pattern(self, namespace: str) -> str:
        """SCAN pattern matching every entry of a namespace (``*`` for all of them)."""
        return f"{self.prefix}:cache:{namespace}:*"

    def cache_inflight(self, namespace: str, digest: str, *, whole: bool = False) -> str:
        """Id of the job computing this answer now, for identical requests to join. TTL: the
        job's deadline; deleted when the job ends. ``whole``: a job that stores its answer only
        at the end, which a streamed request must not join."""
        suffix = ":whole" if whole else ""
        return f"{self.prefix}:inflight:{namespace}:{digest}{suffix}"

    def response(self, owner: str, response_id: str) -> str:
        """JSON of one stored Responses API response of an API key: its shell, the job that
        answers it, its conversation (without the instructions) and, once known, its outcome.
        TTL: response_ttl_s from its creation; writing the outcome keeps it."""
        return f"{self.prefix}:response:{owner}:{response_id}"

    def limit(self, key_id: str, kind: str) -> str:
        """GCRA theoretical arrival time (unix s) of a key's ``requests`` or ``tokens`` per
        minute. TTL: two minutes, refreshed on each admission."""
        return f"{self.prefix}:limit:{key_id}:{kind}"

    def running_jobs(self, key_id: str) -> str:
        """Sorted set of a key's unfinished jobs, scored by deadline (unix s). TTL: the latest
        deadline plus a minute; a job leaves it when its last event is stored."""
        return f"{self.prefix}:limit:{key_id}:jobs"

    @property
    def running_jobs_prefix(self) -> str:
        """``running_jobs(key_id)`` is this + key id + ``:jobs`` (for the append script)."""
        return f"{self.prefix}:limit:"

    def usage_day(self, day: str) -> str:
        """Hash of one UTC day's usage sums, fields ``key|model|provider|metric``. TTL: 400
        days."""
        return f"{self.prefix}:usage:{day}"

    def spend(self, key_id: str, period: str) -> str:
        """A key's spend in USD in one period (``2026-11-24`` or ``2026-11``). TTL: 400 days."""
        return f"{self.prefix}:spend:{key_id}:{period}"

    def api_key(self, key_id: str) -> str:
        """JSON of one client API key (settings and the secret's hash). No TTL."""
        return f"{self.prefix}:apikey:{key_id}"

    @property
    def api_key_channel(self) -> str:
        """Pub/sub channel carrying the id of a key that changed (no storage)."""
        return f"{self.prefix}:apikeys:changed"

    @property
    def api_key_index(self) -> str:
        """Set of every API key id. No TTL."""
        return f"{self.prefix}:apikeys"

    @property
    def circuit_channel(self) -> str:
        """Pub/sub channel announcing circuit state changes as ``provider|model=state``."""
        return f"{self.prefix}:circuits"

    def hub_channel(self, hub_id: str) -> str:
        """Pub/sub channel of one gateway process's event hub, subscribed for its life: each
        append to a job whose ``notify`` field names it, as the job's channel, a newline and
        the message published there."""
        return f"{self.prefix}:hub:{hub_id}"

    @property
    def cancel_channel(self) -> str:
        """Pub/sub channel on which every worker hears job ids to cancel (no storage)."""
        return f"{self.prefix}:cancel"

    # --- batches and files (Batch API). A batch's keys share the hash tag {<batch id>}.
    # An ended batch's hash is kept batch_ttl_s; files are kept until deleted.
    batch_ttl_s: int = 30 * 86_400

    def batch(self, batch_id: str) -> str:
        """Hash: spec, status, request counts, usage sums, timestamps, file ids, errors. No TTL
        while it runs; batch_ttl_s once it has ended."""
        return f"{self.prefix}:batch:{{{batch_id}}}"

    def batch_results(self, batch_id: str) -> str:
        """Hash: input line number -> that request's output or error line, each set once.
        TTL: batch_ttl_s from the first result; deleted once the result files are written."""
        return f"{self.prefix}:batch:{{{batch_id}}}:results"

    def batch_lease(self, batch_id: str) -> str:
        """String: the worker driving the batch. TTL: the batch lease (settings), renewed while
        it runs; when it lapses another batch worker takes the batch over."""
        return f"{self.prefix}:batch:{{{batch_id}}}:lease"

    def batch_index(self, owner: str) -> str:
        """Sorted set of an API key's batch ids by creation time. No TTL; ids of expired batches
        are pruned by readers."""
        return f"{self.prefix}:batches:{owner}"

    @property
    def batches_active(self) -> str:
        """Set of the ids of batches that have not ended, which batch workers adopt. No TTL."""
        return f"{self.prefix}:batches-active"

    def file(self, file_id: str) -> str:
        """JSON of one stored file's record (owner, size, name, purpose). No TTL: until
        deleted."""
        return f"{self.prefix}:file:{file_id}"

    def file_index(self, owner: str) -> str:
        """Sorted set of an API key's file ids by creation time. No TTL."""
        return f"{self.prefix}:files:{owner}"

    # How many of the latest job ids each recent-jobs index keeps.
    recent_jobs_max: int = 200

    def recent_jobs(self, owner: str | None) -> str:
        """Sorted set of the latest job ids by creation time (unix s): one API key's, or every
        key's (``owner`` None). Capped at recent_jobs_max; TTL result_ttl_s, renewed by each
        job."""
        return f"{self.prefix}:recent-jobs:{owner}" if owner else f"{self.prefix}:recent-jobs"

    def workers(self, queue: str) -> str:
        """Sorted set of ``<Redis run id>|<worker id>`` of workers consuming ``queue``, scored by
        last heartbeat (unix seconds, Redis TIME). A heartbeat counts only if it is recent and
        was written to this run of Redis: one restored from the append-only file after a
        restart comes from a worker that is not connected now. No TTL; entries older than
        worker_heartbeat_ttl_s are pruned by readers."""
        return f"{self.prefix}:workers:{queue}"

    def workers_stalled(self, queue: str) -> str:
        """Sorted set of the ids of workers alive but no longer consuming ``queue``, scored by
        when they said so. No TTL; entries older than worker_heartbeat_ttl_s are pruned."""
        return f"{self.prefix}:workers-stalled:{queue}"

    def idempotency(self, owner: str, scope: str, key: str) -> str:
        """JSON of what a submission with this ``Idempotency-Key`` created (the body's digest
        and the job or batch id). TTL: idempotency_ttl_s (settings)."""
        return f"{self.prefix}:idem:{owner}:{scope}:{key}"
