"""The Redis that ``llm-gateway up`` uses when none is given: a private redis-server, or an
in-process fakeredis server for trying things out."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


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
    kind: str  # "redis-server" or "fakeredis"
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


def start_redis_server(executable: str, host: str = "127.0.0.1") -> EmbeddedRedis:
    """A private redis-server on a free port, keeping nothing on disk."""
    port = free_port(host)
    tempdir = tempfile.TemporaryDirectory(prefix="llm-gateway-redis-")
    process = subprocess.Popen(
        [
            executable,
            "--bind",
            host,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            tempdir.name,
            "--logfile",
            str(Path(tempdir.name) / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(host, port, timeout_s=10)
    except TimeoutError:
        process.kill()
        tempdir.cleanup()
        raise
    return EmbeddedRedis(f"redis://{host}:{port}/0", "redis-server", process, tempdir)


def start_fake_redis(host: str = "127.0.0.1") -> EmbeddedRedis:
    """fakeredis speaking the Redis protocol on a free port: for trying the gateway out only."""
    from fakeredis import TcpFakeServer

    port = free_port(host)
    server = TcpFakeServer((host, port), server_type="redis")
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True).start()
    wait_for_port(host, port, timeout_s=10)
    return EmbeddedRedis(f"redis://{host}:{port}/0", "fakeredis", _stop_fake=[server])


def start_embedded_redis(prefer_fake: bool = False) -> EmbeddedRedis:
    executable = shutil.which("redis-server")
    if executable and not prefer_fake:
        return start_redis_server(executable)
    return start_fake_redis()
