"""CPU time per request of every server process, against a direct call to the same fake provider.

Run from the repository root:  python -m bench.cpu [--quick] [--requests N] [--concurrency C]
    [--ttft-requests M] [--shapes json,stream,hit,responses,messages,messages-oai,tools,embeddings]
    [--json [PATH]] [--profile DIR] [--monitor K]

It starts a private redis-server, the fake OpenAI-style provider, one worker and one gateway
(bench.stack), then, for each request shape, all through ``POST /v1/chat/completions`` with
OpenAI's body (``responses``: ``POST /v1/responses``; ``messages*``: Anthropic's
``POST /v1/messages``) and, in the same run, the call the gateway makes straight to the fake
provider (the same chat completion; for an Anthropic model, the same Messages request):
  json       a JSON answer of 16 tokens;
  stream     a stream of 32 tokens 5 ms apart (``stream_options.include_usage``);
  hit        the JSON request at temperature 0, repeated: answered from the response cache;
  responses  the stream's request on the Responses API (``stream: true``);
  messages      the stream's request on the Messages API, to an Anthropic model (``claude``);
  messages-oai  the same to an OpenAI-compatible model (``fake``: translated both ways);
  tools      the stream's request with a tool, answered by one call whose arguments stream in
             32 fragments 5 ms apart;
  embeddings eight inputs to ``POST /v1/embeddings`` (base64, the response cache bypassed).
It measures, per shape:
  1. CPU ms per request (user + system, every thread) of the gateway, the worker and the
     redis-server, their sum, and of the fake provider, read with psutil before and after
     ``--requests`` requests at ``--concurrency`` (the load client's own CPU is reported apart,
     never counted in the server figures);
  2. requests per second of that load, gateway vs direct;
  3. time to first token at concurrency 1 (the whole answer for a JSON one), gateway vs direct;
  4. Redis commands per request by command (INFO commandstats; commands a Lua script runs are
     counted as well as the EVALSHA), and Redis reads per request (total_reads_processed: about
     one per round trip, a pipeline being one).
``--monitor K`` also records K sequential requests per shape with MONITOR and attributes each
command to the process whose connection sent it (top level, or run inside which script).
``--profile DIR`` runs ``py-spy record`` on the gateway and the worker during each shape's load
(raw collapsed stacks in DIR; the CPU figures of such a run include py-spy's sampling cost);
``python -m bench.pyspy_summary DIR/*.txt`` summarises them.

The machine's other work competes for the same cores: the tables say how busy it was.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis
from rich.console import Console
from rich.table import Table

from bench.overhead import percentile
from bench.stack import BenchStack, bench_parser, bench_stack
from shared.lua import lua_source
from tests.stack import FAKE_KEY

SERVERS = ("gateway", "worker", "redis")
# The goals for the server's CPU per request (gateway + worker + Redis), in ms.
TARGET_MS = {
    "json": 5.0,
    "stream": 7.0,
    "hit": 1.0,
    "responses": 7.0,
    "messages": 7.0,
    "messages-oai": 7.0,
    "tools": 7.0,
}
# Gateway model -> the upstream model the fake serves it as, and in which API.
UPSTREAMS = {
    "fake": ("fake-model", "chat"),
    "claude": ("claude-sonnet-4-20250514", "messages"),
    "embed": ("text-embedding-3-small", "embeddings"),
}
EMBEDDING_INPUTS = [f"benchmark sentence number {n} to embed" for n in range(8)]
TOOL_NAME = "search"
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}
# 256 characters of JSON: 32 fragments of the fake's 8 characters.
ARGUMENTS = {"query": "q" * 243}
# Redis commands the benchmark itself sends between its samples.
OWN_COMMANDS = {"info", "client|list", "monitor", "echo"}


@dataclass(frozen=True)
class Shape:
    name: str
    title: str
    stream: bool
    tokens: int
    token_delay_ms: float = 0.0
    cached: bool = False  # temperature 0, repeated: the gateway answers from its cache
    api: str = "chat"  # or "responses", "messages", "embeddings": the gateway's API it is sent to
    model: str = "fake"  # the gateway's model (UPSTREAMS: what the direct call asks)
    tool_call: bool = False  # the answer is one tool call, its arguments streamed in fragments

    def text(self) -> str:
        directive: dict[str, Any] = {"tokens": self.tokens}
        if self.tool_call:
            directive = {"tool_calls": [{"name": TOOL_NAME, "arguments": ARGUMENTS}]}
        if self.token_delay_ms:
            directive["token_delay_ms"] = int(self.token_delay_ms)
        return "benchmark FAKE" + json.dumps(directive)

    @property
    def path(self) -> str:
        paths = {
            "responses": "/v1/responses",
            "messages": "/v1/messages",
            "embeddings": "/v1/embeddings",
        }
        return paths.get(self.api, "/v1/chat/completions")

    def gateway_body(self, model: str) -> dict[str, Any]:
        if self.api == "responses":
            return {"model": model, "input": self.text(), "stream": self.stream}
        if self.api == "messages":
            return self.messages_body(model)
        if self.api == "embeddings":
            return self.embeddings_body(model)
        return self.body(model)

    def embeddings_body(self, model: str) -> dict[str, Any]:
        # base64: what the openai SDK asks for unless told otherwise.
        return {"model": model, "input": EMBEDDING_INPUTS, "encoding_format": "base64"}

    def messages_body(self, model: str) -> dict[str, Any]:
        content = [{"role": "user", "content": self.text()}]
        return {"model": model, "max_tokens": 1000, "messages": content, "stream": self.stream}

    def body(self, model: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": self.text()}],
        }
        if self.stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        if self.tool_call:
            body["tools"] = [TOOL]
        if self.cached:
            body["temperature"] = 0
        return body


SHAPES = {
    shape.name: shape
    for shape in (
        Shape("json", "JSON answer, 16 tokens", stream=False, tokens=16),
        Shape("stream", "stream, 32 tokens 5 ms apart", stream=True, tokens=32, token_delay_ms=5),
        Shape("hit", "cache hit (the JSON request, temperature 0)", False, 16, cached=True),
        Shape(
            "responses",
            "Responses API stream, 32 tokens 5 ms apart",
            stream=True,
            tokens=32,
            token_delay_ms=5,
            api="responses",
        ),
        Shape(
            "messages",
            "Messages stream to an Anthropic model, 32 tokens 5 ms apart",
            stream=True,
            tokens=32,
            token_delay_ms=5,
            api="messages",
            model="claude",
        ),
        Shape(
            "messages-oai",
            "Messages stream to an OpenAI-compatible model, 32 tokens 5 ms apart",
            stream=True,
            tokens=32,
            token_delay_ms=5,
            api="messages",
        ),
        Shape(
            "tools",
            "stream of one tool call, 32 argument fragments 5 ms apart",
            stream=True,
            tokens=0,
            token_delay_ms=5,
            tool_call=True,
        ),
        Shape(
            "embeddings",
            f"embeddings of {len(EMBEDDING_INPUTS)} inputs (cache bypassed)",
            stream=False,
            tokens=0,
            api="embeddings",
            model="embed",
        ),
    )
}

# --- one request ----------------------------------------------------------------------------

FIRST_CONTENT = re.compile(rb'"(?:content|delta|text)": ?"t\d|"arguments": ?"[^"]')


@dataclass(frozen=True)
class Timing:
    ttft_s: float  # first content token; the whole answer for a JSON one
    total_s: float


Call = Callable[[httpx.AsyncClient], Awaitable[Timing]]


def make_call(url: str, body: dict[str, Any], headers: dict[str, str], shape: Shape) -> Call:
    """One request of the shape, checked: every token there, and a hit being a hit."""
    last_token = f"t{shape.tokens}".encode()
    payload = json.dumps(body).encode()
    headers = {**headers, "Content-Type": "application/json"}
    via_gateway = "/openai/" not in url
    # A chat stream ends with [DONE], a Responses stream with its completed event, a Messages
    # stream with message_stop.
    end_marker = b"[DONE]"
    if url.endswith("/v1/responses"):
        end_marker = b"response.completed"
    elif url.endswith("/v1/messages"):
        end_marker = b"message_stop"
    want_cache = "HIT" if shape.cached else None

    def check_cache(response: httpx.Response) -> None:
        if via_gateway and want_cache and response.headers.get("x-cache") != want_cache:
            raise RuntimeError(f"expected X-Cache: {want_cache}, got {response.headers}")

    async def streamed(client: httpx.AsyncClient) -> Timing:
        started = time.perf_counter()
        first = 0.0
        received = bytearray()
        async with client.stream("POST", url, content=payload, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            check_cache(response)
            async for data in response.aiter_raw():
                received += data
                if not first and FIRST_CONTENT.search(received):
                    first = time.perf_counter() - started
        # A tool call's stream ends with its finish reason; a text stream with its last token.
        last = b'"tool_calls"' if shape.tool_call else last_token
        if end_marker not in received or last not in received:
            raise RuntimeError(f"incomplete stream: {bytes(received[-300:])!r}")
        return Timing(first, time.perf_counter() - started)

    async def answered(client: httpx.AsyncClient) -> Timing:
        started = time.perf_counter()
        response = await client.post(url, content=payload, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        check_cache(response)
        if shape.api == "embeddings":
            vectors = response.json()["data"]
            if len(vectors) != len(EMBEDDING_INPUTS) or not vectors[-1]["embedding"]:
                raise RuntimeError(f"incomplete embeddings: {response.text[:300]}")
            return Timing(elapsed, elapsed)
        content = response.json()["choices"][0]["message"]["content"]
        if not content.endswith(last_token.decode()):
            raise RuntimeError(f"incomplete answer: {content[-100:]!r}")
        return Timing(elapsed, elapsed)

    return streamed if shape.stream else answered


def gateway_call(stack: BenchStack, shape: Shape) -> Call:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    if shape.api == "embeddings":  # embeddings are cached by default: measure the call itself
        headers["Cache-Control"] = "no-cache, no-store"
    body = shape.gateway_body(shape.model)
    return make_call(f"{stack.base_url}{shape.path}", body, headers, shape)


def direct_call(stack: BenchStack, shape: Shape) -> Call:
    """The call the gateway makes for the shape, straight to the fake, in its own API."""
    model, api = UPSTREAMS[shape.model]
    if api == "messages":
        url = f"{stack.fake.anthropic_base_url}/v1/messages"
        headers = {"x-api-key": FAKE_KEY, "anthropic-version": "2023-06-01"}
        return make_call(url, shape.messages_body(model), headers, shape)
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}
    if api == "embeddings":
        url = f"{stack.fake.openai_base_url}/embeddings"
        return make_call(url, shape.embeddings_body(model), headers, shape)
    url = f"{stack.fake.openai_base_url}/chat/completions"
    return make_call(url, shape.body(model), headers, shape)


# --- what the processes spent ---------------------------------------------------------------


def process_cpu_s(process: psutil.Process, *, children: bool = True) -> float:
    """User + system seconds of the process (all its threads) and of its live children."""
    total = 0.0
    family = [process, *process.children(recursive=True)] if children else [process]
    for each in family:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if children:
            total += times.children_user + times.children_system
    return total


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent on anything but idling, every core summed."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class Sample:
    at: float
    cpu_s: dict[str, float]
    commands: dict[str, int]
    reads: int
    worker_threads: dict[int, float]  # thread id -> user + system s

    @staticmethod
    def take(processes: dict[str, psutil.Process], stats: redis.Redis) -> Sample:
        cpu = {name: process_cpu_s(p) for name, p in processes.items()}
        # The benchmark's own process: every server is its child, so without them.
        cpu["client"] = process_cpu_s(psutil.Process(), children=False)
        cpu["machine"] = machine_busy_s()
        commandstats: dict[str, Any] = stats.info("commandstats")
        commands = {
            name.removeprefix("cmdstat_"): int(values["calls"])
            for name, values in commandstats.items()
        }
        reads = int(stats.info("stats")["total_reads_processed"])
        return Sample(time.perf_counter(), cpu, commands, reads, thread_cpu_s(processes["worker"]))


def thread_cpu_s(process: psutil.Process) -> dict[int, float]:
    """CPU seconds of each thread: from schedstat where Linux has it (nanoseconds, where
    psutil's per-thread ticks would round a pool thread's short turns away)."""
    times = {}
    for thread in process.threads():
        try:
            schedstat = Path(f"/proc/{process.pid}/task/{thread.id}/schedstat").read_text()
            times[thread.id] = int(schedstat.split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            times[thread.id] = thread.user_time + thread.system_time
    return times


def worker_thread_ms(before: Sample, after: Sample, worker_pid: int) -> dict[str, float]:
    """The worker's CPU by thread: the main thread runs Celery's consumer (kombu's hub), the
    busiest other one is the jobs' event loop (``llm-io``), the rest are Celery's pool threads
    (each waits for its job) and helpers."""
    spent = {
        tid: (cpu - before.worker_threads.get(tid, 0.0)) * 1e3
        for tid, cpu in after.worker_threads.items()
    }
    consumer = spent.pop(worker_pid, 0.0)
    loop = max(spent.values(), default=0.0)
    return {"consumer": consumer, "loop": loop, "pool": sum(spent.values()) - loop}


@dataclass
class Phase:
    """What one load of ``requests`` requests cost: totals over the phase."""

    requests: int
    failures: int
    elapsed_s: float
    cpu_ms: dict[str, float]  # per process, and client, machine, other (everything else)
    commands: dict[str, int]
    reads: int
    worker_threads_ms: dict[str, float]

    @staticmethod
    def between(
        before: Sample, after: Sample, requests: int, failures: int, worker_pid: int
    ) -> Phase:
        cpu_ms = {name: (after.cpu_s[name] - before.cpu_s[name]) * 1e3 for name in after.cpu_s}
        accounted = sum(v for name, v in cpu_ms.items() if name != "machine")
        cpu_ms["other"] = max(0.0, cpu_ms["machine"] - accounted)
        commands = {
            name: calls - before.commands.get(name, 0)
            for name, calls in after.commands.items()
            if name not in OWN_COMMANDS and calls - before.commands.get(name, 0) > 0
        }
        return Phase(
            requests,
            failures,
            after.at - before.at,
            cpu_ms,
            commands,
            after.reads - before.reads,
            worker_thread_ms(before, after, worker_pid),
        )

    def per_request(self, name: str) -> float:
        return self.cpu_ms[name] / max(self.requests, 1)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s


async def run_load(call: Call, client: httpx.AsyncClient, requests: int, concurrency: int) -> int:
    """``requests`` calls, ``concurrency`` at a time; returns how many failed."""
    remaining = requests
    failures = 0
    errors: Counter[str] = Counter()

    async def loop() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            try:
                await call(client)
            except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
                failures += 1
                errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    for error, count in errors.most_common(3):
        print(f"  {count} failed: {error}", file=sys.stderr)
    return failures


# --- py-spy ---------------------------------------------------------------------------------


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


@contextmanager
def profiling(out_dir: Path | None, label: str, pids: dict[str, int], rate: int) -> Iterator[None]:
    """``py-spy record`` (raw collapsed stacks, per thread, idle frames left out) of the
    gateway and the worker while the body runs."""
    if out_dir is None:
        yield
        return
    executable = py_spy()
    if executable is None:
        raise RuntimeError("--profile needs py-spy: pip install py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = []
    for name in ("gateway", "worker"):
        output = out_dir / f"{label}-{name}.txt"
        args = [executable, "record", "--pid", str(pids[name]), "--rate", str(rate)]
        args += ["--format", "raw", "--threads", "--nonblocking", "--output", str(output)]
        spies.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            try:
                _, err = spy.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                _, err = spy.communicate()
            if spy.returncode not in (0, -signal.SIGINT):
                print(f"py-spy: {err.decode(errors='replace')[-500:]}", file=sys.stderr)


# --- MONITOR --------------------------------------------------------------------------------


def script_names() -> dict[str, str]:
    """EVALSHA digest -> the script's file name, for every script in shared/lua."""
    names = {}
    for entry in resources.files("shared.lua").iterdir():
        if entry.name.endswith(".lua"):
            digest = hashlib.sha1(lua_source(entry.name).encode()).hexdigest()
            names[digest] = entry.name.removesuffix(".lua")
    return names


def redis_ports(pids: dict[str, int], redis_port: int) -> dict[str, str]:
    """Local port of each connection to the redis-server -> the process holding it."""
    owners = {}
    for name in ("gateway", "worker"):
        for conn in psutil.Process(pids[name]).net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == redis_port:
                owners[str(conn.laddr.port)] = name
    return owners


class Monitor:
    """Every command Redis runs, from MONITOR, recorded on a thread until ``stop()``."""

    STOP = "bench-monitor-stop"

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)
        self.entries: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._record, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _record(self) -> None:
        with self._client.monitor() as monitor:  # type: ignore[no-untyped-call]
            self._ready.set()
            for entry in monitor.listen():
                if self.STOP in entry["command"]:
                    return
                self.entries.append(entry)

    def stop(self) -> list[dict[str, Any]]:
        self._client.echo(self.STOP)
        self._thread.join(10)
        self._client.close()
        return self.entries


def attribute(
    entries: list[dict[str, Any]], owners: dict[str, str], scripts: dict[str, str]
) -> Counter[tuple[str, str, str]]:
    """(process, script or "" for top level, command) -> count. MONITOR shows a script's
    commands right after the EVALSHA that runs them (Redis runs nothing else meanwhile)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    running = ("other", "?")
    for entry in entries:
        words = entry["command"].split(" ")
        command = words[0].lower()
        if entry["client_type"] == "lua":
            counts[running[0], running[1], command] += 1
            continue
        owner = owners.get(entry["client_port"], "other")
        if command in ("evalsha", "eval"):
            script = scripts.get(words[1], words[1][:8]) if command == "evalsha" else "eval"
            running = (owner, script)
            command = f"evalsha {script}"
        if command not in OWN_COMMANDS:
            counts[owner, "", command] += 1
    return counts


async def monitored(stack: BenchStack, call: Call, requests: int, label: str) -> dict[str, float]:
    """Commands per request over ``requests`` sequential calls, by process and script."""
    pids = stack.server_pids()
    port = int(stack.redis_url.rsplit(":", 1)[1].split("/")[0])
    async with httpx.AsyncClient(timeout=60) as client:
        await call(client)
        monitor = await asyncio.to_thread(Monitor, stack.redis_url)
        try:
            for _ in range(requests):
                await call(client)
            await asyncio.sleep(0.2)  # the worker's last acks and events
        finally:
            entries = await asyncio.to_thread(monitor.stop)
    owners = redis_ports(pids, port)
    counts = attribute(entries, owners, script_names())
    with (stack.log_dir / f"monitor-{label}.txt").open("w") as log:  # the sequence, to read
        for entry in entries:
            owner = owners.get(entry["client_port"], entry["client_type"])
            log.write(f"{entry['time']:.6f} {owner:>8} {entry['command'][:160]}\n")
    return {
        " ".join(part for part in key if part): n / requests
        for key, n in sorted(counts.items(), key=lambda item: (item[0][0], -item[1]))
    }


# --- one shape ------------------------------------------------------------------------------


@dataclass
class ShapeResult:
    shape: Shape
    direct: Phase
    gateway: Phase
    ttft_direct_ms: list[float]
    ttft_gateway_ms: list[float]
    monitor: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        g, d = self.gateway, self.direct
        servers = {name: g.per_request(name) for name in SERVERS}
        return {
            "shape": self.shape.name,
            "title": self.shape.title,
            "requests": g.requests,
            "failures": {"gateway": g.failures, "direct": d.failures},
            "cpu_ms_per_request": {
                **servers,
                "server_total": sum(servers.values()),
                "fake_via_gateway": g.per_request("fake"),
                "fake_direct": d.per_request("fake"),
                "client_via_gateway": g.per_request("client"),
                "client_direct": d.per_request("client"),
            },
            "worker_threads_ms_per_request": {
                name: ms / g.requests for name, ms in g.worker_threads_ms.items()
            },
            "machine_cores_busy_by_others": {
                "gateway_phase": g.cpu_ms["other"] / 1e3 / g.elapsed_s,
                "direct_phase": d.cpu_ms["other"] / 1e3 / d.elapsed_s,
            },
            "background_cpu_ms_per_s": {  # during the direct load: the stack idles
                name: d.cpu_ms[name] / d.elapsed_s for name in SERVERS
            },
            "requests_per_s": {"gateway": g.rate, "direct": d.rate, "ratio": g.rate / d.rate},
            "ttft_ms": ttft_summary(self.ttft_direct_ms, self.ttft_gateway_ms),
            "redis_commands_per_request": {
                name: calls / g.requests
                for name, calls in sorted(g.commands.items(), key=lambda item: -item[1])
            },
            "redis_commands_total_per_request": sum(g.commands.values()) / g.requests,
            "redis_reads_per_request": g.reads / g.requests,
            "monitor_commands_per_request": self.monitor,
        }


def ttft_summary(direct: list[float], gateway: list[float]) -> dict[str, float]:
    if not direct or not gateway:
        return {}
    d50, d99 = percentile(direct, 0.5), percentile(direct, 0.99)
    g50, g99 = percentile(gateway, 0.5), percentile(gateway, 0.99)
    return {
        "direct_p50": d50,
        "direct_p99": d99,
        "gateway_p50": g50,
        "gateway_p99": g99,
        "overhead_p50": g50 - d50,
        "overhead_p99": g99 - d99,
    }


async def measure_load(
    stack: BenchStack,
    call: Call,
    requests: int,
    concurrency: int,
    stats: redis.Redis,
) -> Phase:
    processes = {name: psutil.Process(pid) for name, pid in stack.server_pids().items()}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await run_load(call, client, concurrency * 2, concurrency)  # connections, code paths
        await asyncio.sleep(0.3)  # the worker's acks and task events of the warm-up
        before = Sample.take(processes, stats)
        failures = await run_load(call, client, requests, concurrency)
        after = Sample.take(processes, stats)
    stack.fake.clear()  # its request records would grow for the whole run
    return Phase.between(before, after, requests, failures, stack.server_pids()["worker"])


async def ttft_samples(call: Call, requests: int) -> list[float]:
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(20):
            await call(client)
        return [(await call(client)).ttft_s * 1e3 for _ in range(requests)]


async def prime_cache(call: Call) -> None:
    """Store the answer, then wait until the gateway answers it from the cache."""
    deadline = time.monotonic() + 10
    async with httpx.AsyncClient(timeout=60) as client:
        while True:
            try:
                await call(client)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def measure_shape(
    stack: BenchStack, shape: Shape, options: argparse.Namespace, stats: redis.Redis
) -> ShapeResult:
    gateway, direct = gateway_call(stack, shape), direct_call(stack, shape)
    if shape.cached:
        miss = make_call(
            f"{stack.base_url}/v1/chat/completions",
            shape.body("fake"),
            {"Authorization": f"Bearer {stack.api_key}"},
            Shape(shape.name, shape.title, shape.stream, shape.tokens, shape.token_delay_ms),
        )
        async with httpx.AsyncClient(timeout=60) as client:
            await miss(client)
        await prime_cache(gateway)
    direct_phase = await measure_load(stack, direct, options.requests, options.concurrency, stats)
    with profiling(options.profile, shape.name, stack.server_pids(), options.profile_rate):
        gateway_phase = await measure_load(
            stack, gateway, options.requests, options.concurrency, stats
        )
    ttft_direct = await ttft_samples(direct, options.ttft_requests)
    ttft_gateway = await ttft_samples(gateway, options.ttft_requests)
    result = ShapeResult(shape, direct_phase, gateway_phase, ttft_direct, ttft_gateway)
    if options.monitor:
        result.monitor = await monitored(stack, gateway, options.monitor, shape.name)
    stack.fake.clear()
    return result


# --- report ---------------------------------------------------------------------------------


def report(console: Console, results: list[dict[str, Any]], header: dict[str, Any]) -> None:
    console.print(
        f"\n[bold]CPU per request[/bold]: {header['requests']} requests at concurrency "
        f"{header['concurrency']} per shape; load average before {header['load_before']}, "
        f"after {header['load_after']}; {header['cores']} cores"
        + (
            " [red](py-spy attached: CPU figures include its sampling)[/red]"
            if header["profiling"]
            else ""
        )
    )
    for r in results:
        console.print(f"  {r['shape']:>7}: {r['title']}")
    cpu = Table(title="CPU ms per request (user + system), gateway load vs direct load")
    for column in (
        "shape",
        "gateway",
        "worker",
        "redis",
        "server sum",
        "target",
        "fake (via gw)",
        "fake (direct)",
        "client (gw)",
        "client (direct)",
        "others' cores",
    ):
        cpu.add_column(column, justify="left" if column == "shape" else "right")
    for r in results:
        c = r["cpu_ms_per_request"]
        busy = r["machine_cores_busy_by_others"]
        cpu.add_row(
            r["shape"],
            f"{c['gateway']:.2f}",
            f"{c['worker']:.2f}",
            f"{c['redis']:.2f}",
            f"[bold]{c['server_total']:.2f}[/bold]",
            f"<= {TARGET_MS[r['shape']]:.0f}" if r["shape"] in TARGET_MS else "-",
            f"{c['fake_via_gateway']:.2f}",
            f"{c['fake_direct']:.2f}",
            f"{c['client_via_gateway']:.2f}",
            f"{c['client_direct']:.2f}",
            f"{busy['gateway_phase']:.2f} / {busy['direct_phase']:.2f}",
        )
    console.print(cpu)
    console.print(
        "  others' cores: CPU the rest of the machine used meanwhile (cores busy, gateway "
        "phase / direct phase)."
    )
    for r in results:
        threads = r["worker_threads_ms_per_request"]
        console.print(
            f"  worker {r['shape']:>6}: Celery consumer (main thread) {threads['consumer']:.2f},"
            f" jobs' event loop {threads['loop']:.2f}, pool and other threads {threads['pool']:.2f}"
            " ms per request"
        )
    background = results[0]["background_cpu_ms_per_s"] if results else {}
    console.print(
        "  idle stack (during the first direct load), CPU ms per s: "
        + ", ".join(f"{name} {value:.1f}" for name, value in background.items())
    )

    speed = Table(title="Requests per second and time to first token")
    for column in (
        "shape",
        "direct req/s",
        "gateway req/s",
        "ratio",
        "TTFT direct p50/p99",
        "gateway p50/p99",
        "overhead p50/p99 (ms)",
        "failures gw/direct",
    ):
        speed.add_column(column, justify="left" if column == "shape" else "right")
    for r in results:
        rps, t = r["requests_per_s"], r["ttft_ms"]
        speed.add_row(
            r["shape"],
            f"{rps['direct']:.0f}",
            f"{rps['gateway']:.0f}",
            f"{rps['ratio']:.2f}",
            f"{t['direct_p50']:.2f} / {t['direct_p99']:.2f}",
            f"{t['gateway_p50']:.2f} / {t['gateway_p99']:.2f}",
            f"{t['overhead_p50']:.2f} / {t['overhead_p99']:.2f}",
            f"{r['failures']['gateway']} / {r['failures']['direct']}",
        )
    console.print(speed)
    console.print(
        f"  TTFT at concurrency 1, {header['ttft_requests']} requests each; for a JSON answer "
        "the whole answer. Goals: overhead p50 <= 1.5 ms, p99 <= 4 ms; ratio >= 0.8."
    )

    commands = Table(title="Redis commands per request (INFO commandstats, in-script included)")
    commands.add_column("command")
    for r in results:
        commands.add_column(r["shape"], justify="right")
    names = sorted(
        {n for r in results for n in r["redis_commands_per_request"]},
        key=lambda n: -max(r["redis_commands_per_request"].get(n, 0) for r in results),
    )
    for name in names:
        commands.add_row(
            name, *(f"{r['redis_commands_per_request'].get(name, 0):.2f}" for r in results)
        )
    commands.add_row(
        "[bold]total[/bold]",
        *(f"[bold]{r['redis_commands_total_per_request']:.1f}[/bold]" for r in results),
    )
    commands.add_row(
        "reads (~ round trips)", *(f"{r['redis_reads_per_request']:.1f}" for r in results)
    )
    console.print(commands)

    for r in results:
        if not r["monitor_commands_per_request"]:
            continue
        table = Table(title=f"MONITOR, {r['shape']}: commands per request by process (script)")
        table.add_column("process, script, command")
        table.add_column("per request", justify="right")
        for name, value in r["monitor_commands_per_request"].items():
            table.add_row(name, f"{value:.2f}")
        console.print(table)


async def run(options: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header (run conditions) and one summary per shape."""
    shapes = [SHAPES[name] for name in options.shapes.split(",")]
    load_before = os.getloadavg()
    results = []
    with bench_stack("cpu") as stack:
        stats = redis.Redis.from_url(stack.redis_url)
        try:
            for shape in shapes:
                print(f"measuring {shape.title} ...", file=sys.stderr)
                result = await measure_shape(stack, shape, options, stats)
                results.append(result.summary())
        finally:
            stats.close()
    header = {
        "requests": options.requests,
        "concurrency": options.concurrency,
        "ttft_requests": options.ttft_requests,
        "cores": psutil.cpu_count(),
        "load_before": " ".join(f"{v:.2f}" for v in load_before),
        "load_after": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "profiling": options.profile is not None,
        "shapes": [asdict(shape) for shape in shapes],
    }
    return header, results


def output(options: argparse.Namespace, header: dict[str, Any], results: list[Any]) -> None:
    if options.json is not None:
        document = json.dumps({"header": header, "results": results}, indent=2)
        if options.json == "-":
            print(document)
            return
        Path(options.json).write_text(document)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    report(console, results, header)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, help="requests per load (default 1000; quick 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="of the load (default 32)")
    parser.add_argument(
        "--ttft-requests", type=int, help="requests at concurrency 1 (default 300; quick 60)"
    )
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help=f"comma-separated, of: {', '.join(SHAPES)}"
    )
    parser.add_argument(
        "--json", nargs="?", const="-", help="write the figures as JSON to PATH (- or none: stdout)"
    )
    parser.add_argument(
        "--monitor",
        type=int,
        default=0,
        metavar="K",
        help="record K sequential requests per shape with MONITOR (by process and script)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy record the gateway and the worker"
    )
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per s")
    options = parser.parse_args()
    unknown = set(options.shapes.split(",")) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    if options.profile is not None and py_spy() is None:
        parser.error("--profile needs py-spy (pip install py-spy) and ptrace rights (root)")
    if options.requests is None:
        options.requests = 200 if options.quick else 1000
    if options.ttft_requests is None:
        options.ttft_requests = 60 if options.quick else 300
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        output(options, *asyncio.run(run(options)))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # a lighter client
        output(options, *runner.run(run(options)))


if __name__ == "__main__":
    main()
