"""Where a request's time goes at concurrency 1, read off loopback packet times (tcpdump).

Run from the repository root, as root (tcpdump captures on ``lo``):
    python -m bench.timeline [--quick] [--requests N] [--shape NAME]

It starts the stack (bench.stack), sends ``--requests`` requests of the shape one after another
(20 ms apart) while tcpdump records every packet that carries data between the client, the
gateway, the redis-server, the worker and the fake provider, then prints the median time of
each step of a job, from the request's first byte to the response's first byte:
  body         the request's last packet reaches the gateway;
  create       the gateway sends the script that stores and queues the job;
  delivered    Redis answers the worker's BRPOP with the task;
  claim        the worker sends the claim script;
  upstream     the worker sends the request to the fake provider;
  answer       the fake provider's answer reaches the worker;
  append       the worker sends the script that stores the answer's events;
  published    Redis delivers the append's message to the gateway;
  response     the gateway sends the response's first packet.
The gaps between steps are what each process spends; ``answer - upstream`` is the provider's
own time, which a direct call pays too. Packet times are the kernel's, so the figures hold
whatever the processes' own clocks do.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench.shapes import SHAPES, gateway_call
from bench.stack import bench_parser, bench_stack

PAUSE_S = 0.02
HEADER = re.compile(r"^(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+):")
STEPS = (
    "body",
    "create",
    "delivered",
    "claim",
    "upstream",
    "answer",
    "append",
    "published",
    "response",
)


@dataclass(frozen=True, slots=True)
class Packet:
    at_s: float
    source: int
    destination: int
    text: str  # the payload's printable start (tcpdump -A)


@dataclass(frozen=True, slots=True)
class Ports:
    gateway: int
    redis: int
    fake: int


def packets(dump: Path) -> Iterator[Packet]:
    """The packets of a ``tcpdump -tt -n -A`` text dump."""
    header: tuple[float, int, int] | None = None
    text: list[str] = []
    for line in dump.read_text(errors="replace").splitlines():
        match = HEADER.match(line)
        if match is None:
            text.append(line.strip())
            continue
        if header is not None:
            yield Packet(*header, "".join(text))
        header, text = (float(match[1]), int(match[2]), int(match[3])), []
    if header is not None:
        yield Packet(*header, "".join(text))


def steps_of(request: list[Packet], ports: Ports) -> dict[str, float] | None:
    """Each step's time (s) after the request's first packet, or None when one is missing."""
    to_gateway = [p for p in request if p.destination == ports.gateway]
    if not to_gateway:
        return None
    start = to_gateway[0].at_s
    found: dict[str, float] = {"body": to_gateway[-1].at_s - start}

    def first(after: float, test: Callable[[Packet], bool]) -> Packet | None:
        return next((p for p in request if p.at_s - start >= after and test(p)), None)

    scripts = [p for p in request if p.destination == ports.redis and "EVALSHA" in p.text.upper()]
    create = scripts[0] if scripts else None
    if create is None:
        return None
    found["create"] = create.at_s - start
    creator = create.source
    delivered = first(
        found["create"], lambda p: p.source == ports.redis and p.destination != creator
    )
    claim = next((p for p in scripts if p.source != creator), None)
    upstream = first(0.0, lambda p: p.destination == ports.fake)
    if delivered is None or claim is None or upstream is None:
        return None
    found |= {
        "delivered": delivered.at_s - start,
        "claim": claim.at_s - start,
        "upstream": upstream.at_s - start,
    }
    answer = first(found["upstream"], lambda p: p.source == ports.fake)
    if answer is None:
        return None
    found["answer"] = answer.at_s - start
    append = next((p for p in scripts if p.source == claim.source and p.at_s > answer.at_s), None)
    published = first(found["answer"], lambda p: p.source == ports.redis and "message" in p.text)
    response = first(found["answer"], lambda p: p.source == ports.gateway)
    if append is None or published is None or response is None:
        return None
    return found | {
        "append": append.at_s - start,
        "published": published.at_s - start,
        "response": response.at_s - start,
    }


@contextmanager
def capturing(ports: Ports, dump: Path) -> Iterator[None]:
    """tcpdump writing every packet with data between the stack's ports to ``dump``."""
    ports_filter = f"(port {ports.gateway} or port {ports.redis} or port {ports.fake})"
    command = ["tcpdump", "-i", "lo", "-n", "-tt", "-l", "-A", "-s", "200"]
    with dump.open("w") as out:
        tcpdump = subprocess.Popen(
            [*command, f"{ports_filter} and tcp[tcpflags] & tcp-push != 0"],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            tcpdump.terminate()
            tcpdump.wait()


async def record(shape_name: str, requests: int, dump: Path) -> tuple[Ports, list[float]]:
    """Send the requests while tcpdump records; returns the ports and each request's start
    (unix time, as tcpdump's)."""
    with bench_stack("timeline") as stack:
        ports = Ports(
            gateway=urlparse(stack.base_url).port or 80,
            redis=urlparse(stack.redis_url).port or 6379,
            fake=urlparse(stack.fake.base_url).port or 80,
        )
        call = gateway_call(stack, SHAPES[shape_name])
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(50):  # warm-up
                await call(client)
            starts: list[float] = []
            with capturing(ports, dump):
                await asyncio.sleep(1.0)  # tcpdump attaches
                for _ in range(requests):
                    starts.append(time.time())
                    await call(client)
                    await asyncio.sleep(PAUSE_S)
                await asyncio.sleep(0.5)
            return ports, starts


def split_by_request(all_packets: list[Packet], starts: list[float]) -> list[list[Packet]]:
    """The packets of each request: from its start to the next one's."""
    ends = [*starts[1:], float("inf")]
    windows = zip(starts, ends, strict=True)
    return [[p for p in all_packets if start <= p.at_s < end] for start, end in windows]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, help="sequential requests (default 400; quick 60)")
    parser.add_argument("--shape", default="json", choices=sorted(SHAPES), help="default json")
    args = parser.parse_args()
    if shutil.which("tcpdump") is None:
        raise SystemExit("bench.timeline needs tcpdump (apt-get install tcpdump) and root")
    requests = args.requests or (60 if args.quick else 400)
    dump = Path(tempfile.mkdtemp(prefix="llm-timeline-")) / "dump.txt"
    ports, starts = asyncio.run(record(args.shape, requests, dump))
    split = split_by_request(list(packets(dump)), starts)
    timed = [steps for request in split if (steps := steps_of(request, ports))]
    if not timed:
        raise SystemExit(f"no whole request found in the capture ({dump})")
    read = f"{len(timed)} of {requests} requests read whole"
    print(f"{args.shape}: {read}; median ms after the request's first byte (+ the step's gap)")
    previous = 0.0
    for step in STEPS:
        at_ms = 1000 * statistics.median(t[step] for t in timed)
        print(f"  {step:10s} {at_ms:7.3f}   (+{at_ms - previous:.3f})")
        previous = at_ms


if __name__ == "__main__":
    main()
