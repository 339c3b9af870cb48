"""The Redis that ``llm-gateway up`` uses when none is given: a private redis-server (keeping
nothing, or its data in an append-only file under ``--data-dir``), or an in-process fakeredis
server for trying things out."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import redis
from rich.console import Console

from gateway.cli.state_file import RedisInfo
from shared.settings import Settings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.05)


@dataclass
class EmbeddedRedis:
    """A Redis this process started; ``stop()`` ends it."""

    url: str
    kind: Literal["redis-server", "fakeredis"]
    persistent: bool = False
    _process: subprocess.Popen[bytes] | None = None
    _tempdir: tempfile.TemporaryDirectory[str] | None = None
    _stop_fake: list[object] = field(default_factory=list)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        for server in self._stop_fake:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
        if self._tempdir is not None:
            self._tempdir.cleanup()


def start_redis_server(
    executable: str, host: str = "127.0.0.1", data_dir: Path | None = None
) -> EmbeddedRedis:
    """A private redis-server on a free port: keeping nothing on disk, or, given ``data_dir``,
    everything in an append-only file there (fsync'd every second) that the next start loads."""
    port = free_port(host)
    tempdir = None
    if data_dir is None:
        tempdir = tempfile.TemporaryDirectory(prefix="llm-gateway-redis-")
        directory, persistence = Path(tempdir.name), ["--appendonly", "no"]
    else:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory = data_dir
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
    process = subprocess.Popen(
        [
            executable,
            "--bind",
            host,
            "--port",
            str(port),
            "--save",
            "",
            *persistence,
            "--dir",
            str(directory),
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://{host}:{port}/0"
    try:
        wait_for_port(host, port, timeout_s=10)
        wait_until_loaded(url, timeout_s=60)
    except TimeoutError:
        process.kill()
        if tempdir is not None:
            tempdir.cleanup()
        raise
    return EmbeddedRedis(url, "redis-server", data_dir is not None, process, tempdir)


def wait_until_loaded(url: str, timeout_s: float) -> None:
    """Redis listens while it still loads its append-only file, answering LOADING meanwhile."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                client.ping()
                return
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Redis at {url} is still loading its data") from None
                time.sleep(0.1)
    finally:
        client.close()


def start_fake_redis(host: str = "127.0.0.1") -> EmbeddedRedis:
    """fakeredis speaking the Redis protocol on a free port: for trying the gateway out only."""
    from fakeredis import TcpFakeServer

    port = free_port(host)
    server = TcpFakeServer((host, port), server_type="redis")
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True).start()
    wait_for_port(host, port, timeout_s=10)
    return EmbeddedRedis(f"redis://{host}:{port}/0", "fakeredis", _stop_fake=[server])


def start_embedded_redis(prefer_fake: bool = False, data_dir: Path | None = None) -> EmbeddedRedis:
    executable = shutil.which("redis-server")
    if executable and not prefer_fake:
        return start_redis_server(executable, data_dir=data_dir)
    return start_fake_redis()


@contextlib.contextmanager
def redis_for_up(
    settings: Settings, data_dir: Path | None, console: Console
) -> Iterator[RedisInfo]:
    """The Redis the settings name (REDIS_URL, or redis_url in the config), else one of our
    own for as long as ``up`` runs."""
    if "redis_url" in settings.model_fields_set:
        if data_dir is not None:
            console.print(
                "[yellow]Redis is the given one (REDIS_URL): what it keeps is its own "
                "business; --data-dir keeps the keys and batch files.[/]"
            )
        yield RedisInfo(url=settings.redis_url, kind="external", persistent=False)
        return
    embedded = start_embedded_redis(data_dir=None if data_dir is None else data_dir / "redis")
    if embedded.kind == "fakeredis":
        console.print(
            "[yellow]No redis-server on the PATH: using an in-process fakeredis server. "
            "This is for trying the gateway out only; install Redis or set REDIS_URL.[/]"
        )
        if data_dir is not None:
            console.print(
                "[yellow]fakeredis keeps nothing: keys and jobs are gone at the next start "
                "(the admin key and batch files in --data-dir are kept).[/]"
            )
    try:
        yield RedisInfo(url=embedded.url, kind=embedded.kind, persistent=embedded.persistent)
    finally:
        embedded.stop()
