"""Redis commands per request by process and script, from MONITOR (bench.cpu --monitor)."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import Counter
from importlib import resources
from typing import Any

import httpx
import psutil
import redis

from bench.sampling import OWN_COMMANDS
from bench.shapes import Call
from bench.stack import BenchStack
from shared.lua import lua_source


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
