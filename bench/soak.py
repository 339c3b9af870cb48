"""Soak: N concurrent streams for M minutes, with random disconnects, resumes and cancels, each
stream's seqs and text checked; memory, file descriptors and threads of every process sampled
over time (they should stay flat once warmed up).

    python -m bench.soak --streams 500 --minutes 10

Each client loops until the time is up: a streamed completion read to its end (60%), a
background job whose reader drops at a random point and resumes with Last-Event-ID (25%), or
a stream cancelled mid-way by DELETE (15%). A stream is lost if its seqs or text are not
exactly the job's, duplicated if a seq repeats, stuck if it has not ended 60 s after it should.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import orjson
import psutil
from httpx_sse import aconnect_sse

from bench.stack import bench_stack
from tests.helpers import chat, directive, expected_text

SAMPLE_EVERY_S = 15.0
STUCK_AFTER_S = 60.0


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    events: int = 0
    resumes: int = 0

    def bad(self, kind: str, detail: str) -> None:
        self.outcomes[kind] += 1
        self.problems.append(f"{kind}: {detail}")


class Client:
    """One soak client: its own connection pool share, its own random choices."""

    def __init__(self, http: httpx.AsyncClient, tally: Tally, rng: random.Random, delay: int):
        self.http = http
        self.tally = tally
        self.rng = rng
        self.delay = delay

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            tokens = self.rng.randint(20, 120)
            roll = self.rng.random()
            limit = tokens * self.delay / 1000 + STUCK_AFTER_S
            kind = "streamed" if roll < 0.60 else "resumed" if roll < 0.85 else "cancelled"
            try:
                async with asyncio.timeout(limit):
                    if kind == "streamed":
                        await self.stream(tokens)
                    elif kind == "resumed":
                        await self.resumed(tokens)
                    else:
                        await self.cancelled(tokens)
            except TimeoutError:
                self.tally.bad("stuck", f"{kind}")
            except httpx.HTTPError as error:
                self.tally.bad("http_error", repr(error))

    def body(self, tokens: int) -> dict[str, object]:
        return chat(directive(tokens=tokens, token_delay_ms=self.delay))

    async def read(
        self, url: str, after: int, stop_after: int | None = None
    ) -> list[dict[str, str]]:
        headers = {"Last-Event-ID": str(after)} if after else {}
        got: list[dict[str, str]] = []
        async with aconnect_sse(self.http, "GET", url, headers=headers) as source:
            async for event in source.aiter_sse():
                got.append({"id": event.id, "event": event.event, "data": event.data})
                if stop_after is not None and len(got) >= stop_after:
                    break
        return got

    def check(self, events: list[dict[str, str]], tokens: int, what: str) -> None:
        self.tally.events += len(events)
        seqs = [int(e["id"]) for e in events]
        if len(set(seqs)) != len(seqs):
            self.tally.bad("duplicated", f"{what}: seqs {seqs[:5]}...")
            return
        if seqs != list(range(1, len(seqs) + 1)):
            self.tally.bad("lost", f"{what}: seqs not 1..n")
            return
        if not events or events[-1]["event"] != "done":
            ending = orjson.loads(events[-1]["data"]).get("code") if events else None
            if str(ending).startswith(("provider_", "all_providers")):
                # Told, with an error event: the fake provider fell behind (a loaded machine).
                self.tally.outcomes["provider_failed"] += 1
                return
            self.tally.bad("lost", f"{what}: ended {ending}")
            return
        text = "".join(
            orjson.loads(e["data"]).get("content", "") for e in events if e["event"] == "delta"
        )
        if text != expected_text(tokens):
            self.tally.bad("lost", f"{what}: text differs")
            return
        self.tally.outcomes[what] += 1

    async def stream(self, tokens: int) -> None:
        got: list[dict[str, str]] = []
        async with aconnect_sse(
            self.http, "POST", "/api/v1/llm/complete/stream", json=self.body(tokens)
        ) as source:
            async for event in source.aiter_sse():
                got.append({"id": event.id, "event": event.event, "data": event.data})
        self.check(got, tokens, "streamed")

    async def resumed(self, tokens: int) -> None:
        job = (await self.http.post("/api/v1/jobs", json=self.body(tokens))).json()
        url = job["links"]["events"]
        got = await self.read(url, 0, stop_after=self.rng.randint(1, tokens))
        while not got or got[-1]["event"] not in ("done", "error"):
            self.tally.resumes += 1
            got += await self.read(
                url, int(got[-1]["id"]) if got else 0, stop_after=self.rng.randint(5, tokens + 5)
            )
        self.check(got, tokens, "resumed")

    async def cancelled(self, tokens: int) -> None:
        job = (await self.http.post("/api/v1/jobs", json=self.body(tokens))).json()
        got = await self.read(job["links"]["events"], 0, stop_after=self.rng.randint(2, 10))
        await self.http.delete(job["links"]["cancel"])
        rest = await self.read(job["links"]["events"], int(got[-1]["id"]))
        last = (got + rest)[-1]["event"]
        self.tally.events += len(got) + len(rest)
        if last not in ("done", "error"):
            self.tally.bad("lost", "cancelled stream without a last event")
        else:
            self.tally.outcomes["cancelled" if last == "error" else "finished_first"] += 1


def sample(processes: dict[str, psutil.Process]) -> dict[str, tuple[float, int, int]]:
    """RSS (MiB), open descriptors and threads of each process (its children included)."""
    found: dict[str, tuple[float, int, int]] = {}
    for name, process in processes.items():
        family = [process, *process.children(recursive=True)]
        rss = sum(p.memory_info().rss for p in family) / 2**20
        found[name] = (rss, sum(p.num_fds() for p in family), sum(p.num_threads() for p in family))
    return found


async def soak(streams: int, minutes: float, delay: int) -> None:
    with bench_stack("soak") as stack:
        pids = stack.server_pids()
        processes = {name: psutil.Process(pids[name]) for name in ("gateway", "worker", "redis")}
        tally = Tally()
        limits = httpx.Limits(max_connections=streams + 50, max_keepalive_connections=streams)
        started = time.monotonic()
        until = started + minutes * 60
        samples: list[tuple[float, dict[str, tuple[float, int, int]]]] = []

        async def sampler() -> None:
            while time.monotonic() < until:
                samples.append((time.monotonic() - started, sample(processes)))
                print(
                    f"  {samples[-1][0]:6.0f} s  events {tally.events:>9,}  "
                    + "  ".join(
                        f"{n} {r:.0f} MiB/{f} fd/{t} thr" for n, (r, f, t) in samples[-1][1].items()
                    ),
                    flush=True,
                )
                await asyncio.sleep(SAMPLE_EVERY_S)

        headers = {"Authorization": f"Bearer {stack.api_key}"}
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers=headers, timeout=120, limits=limits
        ) as http:
            rng = random.Random(20261201)
            clients = [
                Client(http, tally, random.Random(rng.random()), delay) for _ in range(streams)
            ]
            watcher = asyncio.create_task(sampler())
            await asyncio.gather(*(c.run(until) for c in clients))
            watcher.cancel()
        samples.append((time.monotonic() - started, sample(processes)))
        report(streams, minutes, tally, samples)


def report(
    streams: int,
    minutes: float,
    tally: Tally,
    samples: list[tuple[float, dict[str, tuple[float, int, int]]]],
) -> None:
    ended = ("streamed", "resumed", "cancelled", "finished_first", "provider_failed")
    done = sum(tally.outcomes[k] for k in ended)
    print(
        f"\n{streams} streams for {minutes:g} min: {done:,} streams ended as they should, "
        f"{tally.events:,} events, {tally.resumes:,} resumes"
    )
    for kind in ("streamed", "resumed", "cancelled", "finished_first", "provider_failed"):
        print(f"  {kind:15} {tally.outcomes[kind]:>8,}")
    for kind in ("lost", "duplicated", "stuck", "http_error"):
        print(f"  {kind:15} {tally.outcomes[kind]:>8,}")
    for problem, count in Counter(tally.problems).most_common(12):
        print(f"    {count} x {problem}")
    warm = next((s for s in samples if s[0] >= min(120.0, minutes * 60 / 3)), samples[0])
    last = samples[-1]
    print(f"\nafter warm-up ({warm[0]:.0f} s) -> end ({last[0]:.0f} s):")
    for name in last[1]:
        (r0, f0, t0), (r1, f1, t1) = warm[1][name], last[1][name]
        print(
            f"  {name:8} RSS {r0:7.1f} -> {r1:7.1f} MiB   fds {f0:5} -> {f1:5}   "
            f"threads {t0:5} -> {t1:5}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--token-delay-ms", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(soak(args.streams, args.minutes, args.token_delay_ms))


if __name__ == "__main__":
    main()
