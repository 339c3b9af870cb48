"""A provider call's time budgets: each await timed against the budget that applies now."""

from __future__ import annotations

import asyncio

import pytest

from shared.config import ProviderTimeouts
from shared.errors import ProviderTimeout
from workers.providers.timing import ReadBudget


def budgets(**seconds: float) -> ProviderTimeouts:
    return ProviderTimeouts(**{"first_token_s": 60, "idle_s": 60, "total_s": 600, **seconds})


def live_timers() -> int:
    scheduled = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
    return sum(not handle.cancelled() for handle in scheduled)


async def test_a_slow_first_token_runs_out_its_budget() -> None:
    expected = pytest.raises(ProviderTimeout, match="fake: first token time budget ran out")
    with ReadBudget(budgets(first_token_s=0.05)) as budget, expected:
        await budget.run(asyncio.sleep(5), "fake")


async def test_reads_within_the_idle_budget_go_on_past_it_and_a_silent_one_times_out() -> None:
    with ReadBudget(budgets(idle_s=0.05)) as budget:
        budget.got_token()
        for _ in range(8):  # 0.16 s in all, each read well within 0.05 s of the one before
            assert await budget.run(asyncio.sleep(0.02, result="chunk"), "fake") == "chunk"
        with pytest.raises(ProviderTimeout, match="idle time budget"):
            await budget.run(asyncio.sleep(5), "fake")


async def test_the_total_budget_ends_a_stream_that_never_goes_idle() -> None:
    async def read_on(budget: ReadBudget) -> None:
        for _ in range(50):  # 0.5 s of reads 10 ms apart
            await budget.run(asyncio.sleep(0.01), "fake")

    with ReadBudget(budgets(idle_s=1, total_s=0.1)) as budget:
        budget.got_token()
        with pytest.raises(ProviderTimeout, match="total time budget"):
            await read_on(budget)


async def test_a_whole_answer_is_timed_by_the_total_budget_alone() -> None:
    # A non-streamed answer arrives after the whole generation: no first token to wait for.
    with ReadBudget(budgets(first_token_s=0.02, total_s=0.3), whole=True) as budget:
        assert await budget.run(asyncio.sleep(0.1, result="answer"), "fake") == "answer"
        with pytest.raises(ProviderTimeout, match="fake: total time budget ran out"):
            await budget.run(asyncio.sleep(5), "fake")


async def test_a_shorter_budget_after_the_first_token_applies_at_once() -> None:
    with ReadBudget(budgets(first_token_s=30, idle_s=0.05)) as budget:
        await budget.run(asyncio.sleep(0), "fake")  # the timer is set for the first token
        budget.got_token()
        async with asyncio.timeout(2):
            with pytest.raises(ProviderTimeout, match="idle"):
                await budget.run(asyncio.sleep(5), "fake")


async def test_a_cancellation_from_outside_is_no_timeout() -> None:
    with ReadBudget(budgets(idle_s=0.05)) as budget:
        reading = asyncio.ensure_future(budget.run(asyncio.sleep(5), "fake"))
        await asyncio.sleep(0.01)
        reading.cancel()  # the job ended: cancelled, not timed out
        with pytest.raises(asyncio.CancelledError):
            await reading


async def test_leaving_the_budget_drops_its_timer() -> None:
    before = live_timers()
    with ReadBudget(budgets()) as budget:
        await budget.run(asyncio.sleep(0), "fake")
        assert live_timers() == before + 1  # one timer for the whole call
        for _ in range(5):
            await budget.run(asyncio.sleep(0), "fake")
        assert live_timers() == before + 1
    assert live_timers() == before
