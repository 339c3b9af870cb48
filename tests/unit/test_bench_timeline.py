"""bench.timeline reads a job's steps off a tcpdump text dump."""

from __future__ import annotations

from pathlib import Path

from bench.timeline import STEPS, Ports, packets, split_by_request, steps_of

PORTS = Ports(gateway=8000, redis=6400, fake=9000)
# The source ports of the client, the gateway's command and hub connections, the worker's
# broker, command and provider connections.
CLIENT, GATEWAY_POOL, HUB, BROKER, WORKER_POOL, WORKER_HTTP = range(50001, 50007)


def line(at_s: float, source: int, destination: int, text: str) -> str:
    header = f"{at_s:.6f} IP 127.0.0.1.{source} > 127.0.0.1.{destination}: Flags [P.], length 10"
    return f"{header}\n{text}\n"


def one_request(start: float) -> str:
    steps = [
        (0.0000, CLIENT, PORTS.gateway, "POST /v1/chat/completions HTTP/1.1"),
        (0.0001, CLIENT, PORTS.gateway, '{"model":"fake"}'),
        (0.0010, GATEWAY_POOL, PORTS.redis, "*9 $7 EVALSHA abc"),
        (0.0012, PORTS.redis, BROKER, "*2 $12 llm.interactive"),
        (0.0013, PORTS.redis, GATEWAY_POOL, ":1"),
        (0.0020, WORKER_POOL, PORTS.redis, "*5 $7 EVALSHA def"),
        (0.0025, WORKER_HTTP, PORTS.fake, "POST /v1/chat/completions"),
        (0.0030, PORTS.fake, WORKER_HTTP, "HTTP/1.1 200 OK"),
        (0.0035, WORKER_POOL, PORTS.redis, "*12 $7 evalsha 123"),
        (0.0037, PORTS.redis, HUB, "*3 $7 message $20 llm:hub:x"),
        (0.0040, PORTS.gateway, CLIENT, "HTTP/1.1 200 OK"),
    ]
    return "".join(
        line(start + at, source, destination, text) for at, source, destination, text in steps
    )


def test_each_request_of_a_dump_reads_as_its_steps_in_order(tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    dump.write_text(one_request(100.0) + one_request(100.5))
    requests = split_by_request(list(packets(dump)), [100.0, 100.5])
    timed = [steps_of(request, PORTS) for request in requests]
    expected_ms = [0.1, 1.0, 1.2, 2.0, 2.5, 3.0, 3.5, 3.7, 4.0]
    for steps in timed:
        assert steps is not None
        assert [round(1000 * steps[name], 3) for name in STEPS] == expected_ms


def test_a_request_missing_a_step_is_left_out(tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    whole = one_request(100.0).split("\n")
    dump.write_text("\n".join(line for line in whole if "9000" not in line))  # no upstream call
    [request] = split_by_request(list(packets(dump)), [100.0])
    assert steps_of(request, PORTS) is None
