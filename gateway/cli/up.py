"""``llm-gateway up``: Redis, the gateway, a worker, a batch worker and Flower as child processes,
one command."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis
from rich.console import Console

from gateway.cli.redis_server import EmbeddedRedis, free_port, start_embedded_redis
from shared.apikeys import KeySettings, KeyStore
from shared.settings import Settings, load_settings

STOP_TIMEOUT_S = 15.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    # Its own session: Ctrl-C reaches only `up`, which then stops the children in order.
    process = subprocess.Popen(args, env=env, start_new_session=True)
    return Child(name, process)


def stop_children(children: list[Child], console: Console) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            console.print(f"[yellow]{child.name} did not stop in time; killing it[/]")
            child.process.kill()
            child.process.wait()


def wait_until_healthy(url: str, children: list[Child], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(child.process.poll() is not None for child in children):
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/health/ready", timeout=2).status_code == 200:
                return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def redis_for_up(console: Console) -> Iterator[str]:
    given = os.environ.get("REDIS_URL") or os.environ.get("LLM_GATEWAY_REDIS_URL")
    if given:
        console.print(f"Redis: {given} (from the environment)")
        yield given
        return
    embedded: EmbeddedRedis = start_embedded_redis()
    if embedded.kind == "fakeredis":
        console.print(
            "[yellow]No redis-server on the PATH: using an in-process fakeredis server. "
            "This is for trying the gateway out only; install Redis or set REDIS_URL.[/]"
        )
    else:
        console.print(f"Redis: private redis-server at {embedded.url}")
    try:
        yield embedded.url
    finally:
        embedded.stop()


def run_up(*, host: str, port: int, config: Path | None, flower: bool, console: Console) -> int:
    """Run everything until Ctrl-C (or a child dies); returns the exit code."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with redis_for_up(console) as redis_url:
        env = {**os.environ, "REDIS_URL": redis_url}
        if config is not None:
            env["LLM_GATEWAY_CONFIG"] = str(config.resolve())
        settings = load_settings(config, redis_url=redis_url)
        access = None
        if settings.auth_enabled:
            access = DevAccess.create(settings, env.get("LLM_GATEWAY_ADMIN_KEY"))
            env["LLM_GATEWAY_ADMIN_KEY"] = access.admin_key
        cli = [sys.executable, "-m", "gateway.cli.main"]
        children = [
            spawn("gateway", [*cli, "gateway", "--host", host, "--port", str(port)], env),
            spawn("worker", [*cli, "worker", "--loglevel", "WARNING"], env),
            # Batches run on their own queue and process, apart from interactive jobs.
            spawn(
                "batch-worker",
                [*cli, "worker", "--queues", settings.batch.queue, "--loglevel", "WARNING"],
                env,
            ),
        ]
        flower_url = None
        if flower and importlib.util.find_spec("flower") is not None:
            flower_port = free_port(host)
            children.append(
                spawn(
                    "flower",
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "--broker",
                        redis_url,
                        "flower",
                        f"--address={host}",
                        f"--port={flower_port}",
                        "--logging=warning",
                    ],
                    env,
                )
            )
            flower_url = f"http://{host}:{flower_port}"
        base_url = f"http://{host}:{port}"
        try:
            if not wait_until_healthy(base_url, children, timeout_s=60):
                if not stopping:
                    console.print("[red]The gateway did not become healthy; stopping.[/]")
                return 1
            print_banner(console, base_url, flower_url, access)
            while not stopping and all(c.process.poll() is None for c in children):
                time.sleep(0.2)
            if not stopping:
                dead = [c.name for c in children if c.process.poll() is not None]
                console.print(f"[red]{', '.join(dead)} exited; stopping the rest.[/]")
                return 1
            console.print("Stopping…")
            return 0
        finally:
            stop_children(children, console)


@dataclass(frozen=True)
class DevAccess:
    """The keys a local run hands out: the admin key, and a client key to try things with."""

    admin_key: str
    dev_key: str
    admin_key_generated: bool

    @classmethod
    def create(cls, settings: Settings, admin_key: str | None) -> DevAccess:
        async def new_dev_key() -> str:
            redis = Redis.from_url(settings.redis_url)
            try:
                store = KeyStore(redis, settings.keys)
                _, plaintext = await store.create(KeySettings(name="development (llm-gateway up)"))
                return plaintext
            finally:
                await redis.aclose()

        generated = admin_key is None
        return cls(admin_key or secrets.token_urlsafe(24), asyncio.run(new_dev_key()), generated)


def print_banner(
    console: Console, base_url: str, flower_url: str | None, access: DevAccess | None
) -> None:
    console.print(f"\n[bold green]llm-gateway is up[/] at {base_url}")
    console.print(f"  API docs:  {base_url}/docs")
    console.print(f"  Health:    {base_url}/api/v1/health/ready")
    console.print(f"  OpenAI:    {base_url}/v1  (base_url for OpenAI SDKs; Batch API too)")
    console.print(f"  GraphQL:   {base_url}/graphql")
    if flower_url:
        console.print(f"  Flower:    {flower_url}")
    auth = ""
    if access is not None:
        console.print(f"\n  API key (development): {access.dev_key}")
        if access.admin_key_generated:
            console.print(f"  Admin key (this run):  {access.admin_key}")
        auth = f" -H 'Authorization: Bearer {access.dev_key}'"
    console.print("\nTry it:")
    console.print(
        f"  curl -N{auth} '{base_url}/api/v1/llm/complete/stream?prompt=Hello'", soft_wrap=True
    )
    console.print("\nCtrl-C stops everything.\n")
