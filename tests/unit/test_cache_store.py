"""The cache's scripts on fakeredis (what ``up`` runs on without redis-server): a succeeded job
stores its answer, a joined job counts its readers, and what the cache key hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.cache import ResponseCache, plan_cache, request_digest
from shared.config import CacheConfig, ModelConfig
from shared.events import DeltaEvent, DoneEvent, ErrorEvent, EventBody, FallbackEvent, StartEvent
from shared.job_records import JobFields
from shared.jobs import JobResult, JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.parsed_entries import ParsedEntries
from shared.usage import Usage
from tests.unit.specs import DEMO_ROUTE, demo_spec, done_event

KEYS = RedisKeys(prefix="t")
MODEL = ModelConfig(route=DEMO_ROUTE)


@pytest.fixture
async def redis() -> AsyncIterator[FakeAsyncRedis]:
    client = FakeAsyncRedis()
    yield client
    await client.aclose()


async def run(store: JobStore, spec: JobSpec, ends_as: JobStatus) -> None:
    await store.append(spec.id, StartEvent(provider="demo", model="demo-1"))
    fallback = FallbackEvent(
        provider="demo", model="demo-1", code="x", reason="", next_provider=None, next_model=None
    )
    await store.append(spec.id, fallback)
    await store.append(spec.id, DeltaEvent(content="hello"))
    usage = Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
    fields = JobFields(
        provider="demo",
        provider_model="demo-1",
        usage=usage,
        cost=0.5,
        result=JobResult(content="hello", finish_reason="stop"),
    )
    end: EventBody = (
        done_event(usage=usage, cost=0.5)
        if ends_as is JobStatus.SUCCEEDED
        else ErrorEvent(code="x", message="failed")
    )
    await store.append(spec.id, end, ends_as=ends_as, fields=fields)


@pytest.mark.parametrize("ends_as", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_only_a_succeeded_job_stores_its_answer(
    redis: FakeAsyncRedis, ends_as: JobStatus
) -> None:
    store, cache = JobStore(redis, KEYS), ResponseCache(redis, KEYS)
    spec = demo_spec(temperature=0)
    plan = plan_cache(CacheConfig(), MODEL, spec)
    assert plan is not None
    await store.create(spec, fields=cache.job_fields(plan))
    await run(store, spec, ends_as)

    answer = await cache.lookup(plan)
    if ends_as is not JobStatus.SUCCEEDED:
        assert answer is None
        return
    assert answer is not None and answer.result is not None
    assert (answer.result.content, answer.usage.total_tokens, answer.cost) == ("hello", 2, 0.5)
    replayed = answer.events()
    assert [(e.seq, e.type) for e in replayed] == [(1, "start"), (2, "delta"), (3, "done")]
    last = replayed[-1].body
    assert isinstance(last, DoneEvent) and last.cache == "HIT"
    assert await cache.invalidate(plan.namespace, plan.digest) == 1
    assert await cache.lookup(plan) is None


async def test_a_hot_entry_is_parsed_once_and_a_rewritten_one_is_read_anew(
    redis: FakeAsyncRedis,
) -> None:
    store, cache = JobStore(redis, KEYS), ResponseCache(redis, KEYS)
    first, second = demo_spec(temperature=0), demo_spec(temperature=0)
    plan = plan_cache(CacheConfig(), MODEL, first)
    assert plan is not None
    await store.create(first, fields=cache.job_fields(plan))
    await run(store, first, JobStatus.SUCCEEDED)
    hit = await cache.lookup(plan)
    again = await cache.lookup(plan)
    assert hit is not None and again is hit  # the same bytes: the parse is reused
    assert again.events() == hit.events() and again.events() is not hit.events()

    await store.create(second, fields=cache.job_fields(plan))  # the same request, run again
    await store.append(second.id, StartEvent(provider="demo", model="demo-2"))
    await store.append(
        second.id,
        done_event(),
        ends_as=JobStatus.SUCCEEDED,
        fields=JobFields(provider="demo", provider_model="demo-2", usage=Usage()),
    )
    rewritten = await cache.lookup(plan)
    assert rewritten is not None and rewritten.provider_model == "demo-2"
    assert await cache.invalidate(plan.namespace, plan.digest) == 1
    assert await cache.lookup(plan) is None  # dropped in Redis: never answered from memory


def test_parsed_entries_keep_the_latest_few_and_never_a_large_one() -> None:
    parsed: ParsedEntries[str] = ParsedEntries(max_entries=2, max_entry_bytes=4)
    parsed.put("a", b"1", "one")
    parsed.put("b", b"2", "two")
    assert parsed.get("a", b"1") == "one"  # now the latest used
    parsed.put("c", b"3", "three")
    assert (parsed.get("a", b"1"), parsed.get("b", b"2"), parsed.get("c", b"3")) == (
        "one",
        None,
        "three",
    )
    assert parsed.get("a", b"other bytes") is None
    parsed.put("a", b"12345", "large")
    assert parsed.get("a", b"1") is None and parsed.get("a", b"12345") is None


async def test_joined_job_is_cancelled_only_when_its_last_reader_leaves(
    redis: FakeAsyncRedis,
) -> None:
    store = JobStore(redis, KEYS)
    first, twin = demo_spec(), demo_spec()
    inflight = KEYS.cache_inflight("global", request_digest(first))
    assert await store.create_or_join(first, inflight_key=inflight, may_join=True) is None
    joined = await store.create_or_join(twin, inflight_key=inflight, may_join=True)
    assert joined == (first.id, first.deadline_at)
    # A request that may not join starts its own job (and is the one joined from then on).
    fresh = demo_spec()
    assert await store.create_or_join(fresh, inflight_key=inflight, may_join=False) is None

    assert await store.request_cancel(first.id, leaving=True) is None  # another reader stays
    assert await store.status_of(first.id) is JobStatus.QUEUED
    assert await store.request_cancel(first.id, leaving=True) is JobStatus.QUEUED
    assert await store.status_of(first.id) is JobStatus.CANCELLED


async def test_an_ended_job_is_not_joined(redis: FakeAsyncRedis) -> None:
    store = JobStore(redis, KEYS)
    first = demo_spec()
    inflight = KEYS.cache_inflight("global", request_digest(first))
    await store.create_or_join(first, inflight_key=inflight, may_join=True)
    await run(store, first, JobStatus.FAILED)
    assert await redis.exists(inflight) == 0
    assert await store.create_or_join(demo_spec(), inflight_key=inflight, may_join=True) is None


def test_the_digest_covers_what_shapes_the_answer_and_nothing_else() -> None:
    base = request_digest(demo_spec("q", temperature=0))
    assert request_digest(demo_spec("q", temperature=0, timeout_s=9, user="u")) == base
    assert request_digest(demo_spec("q", owner="someone else", temperature=0)) == base
    assert request_digest(demo_spec("q", temperature=0, cache={"no_store": True})) == base
    for changed in (
        demo_spec("Q", temperature=0),
        demo_spec("q", temperature=0.1),
        demo_spec("q", temperature=0, max_tokens=5),
        demo_spec("q", temperature=0, extra_body={"a": 1}),
    ):
        assert request_digest(changed) != base


def test_eligibility_and_scope_come_from_config_then_model() -> None:
    config = CacheConfig()
    assert plan_cache(config, MODEL, demo_spec(temperature=0.7)) is None
    plan = plan_cache(config, MODEL, demo_spec(temperature=0))
    assert plan is not None and plan.namespace == "key:o"
    shared = ModelConfig(route=MODEL.route, cache={"eligible": "always", "scope": "global"})
    plan = plan_cache(config, shared, demo_spec(temperature=0.7, cache={"ttl_s": 10**9}))
    assert plan is not None
    assert (plan.namespace, plan.ttl_s) == ("global", config.max_ttl_s)
    assert plan_cache(CacheConfig(enabled=False), shared, demo_spec()) is None
