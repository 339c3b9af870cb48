"""Fake LLM provider: a real HTTP server speaking the OpenAI, DeepSeek, OpenRouter and Anthropic
wire formats.

Run it:   python -m tests.fakes.provider --host 127.0.0.1 --port 18001 [--tokens 8]
          [--token-delay-ms 0] [--first-token-delay-ms 0] [--require-key KEY]

Or from a test (starts the server in a subprocess on a free port)::

    from tests.fakes.provider import FakeProvider
    with FakeProvider() as fake:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="x")
        ...
        fake.requests(tag="mine")   # recorded requests, fetched over HTTP
        fake.clear()

Endpoints (all under ``fake.base_url``):
    POST /openai/v1/chat/completions        GET /openai/v1/models
    POST /deepseek/chat/completions         GET /deepseek/models        (also under /deepseek/v1/)
    POST /openrouter/api/v1/chat/completions GET /openrouter/api/v1/models
    POST /anthropic/v1/messages             GET /anthropic/v1/models
    GET /_fake/health
    GET /_fake/requests[?tag=X]             DELETE /_fake/requests
    GET|PUT|DELETE /_fake/defaults          (default scenario keys for requests without a directive)
    DELETE /_fake/cache                     (forget the prompt prefixes seen)
    POST /openai/v1/embeddings              POST /openrouter/api/v1/embeddings

Per-request behaviour comes from a ``FAKE{...}`` directive in the last user message; see
`tests.fakes.scenario.Scenario` for the keys.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]

__all__ = ["FakeProvider", "main"]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class FakeProvider:
    """Context manager running ``python -m tests.fakes.provider`` in a subprocess on a free port."""

    def __init__(
        self,
        *,
        tokens: int | None = None,
        token_delay_ms: float | None = None,
        first_token_delay_ms: float | None = None,
        require_key: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port or 0
        self.require_key = require_key
        self.startup_timeout = startup_timeout
        self._args: list[str] = []
        for flag, value in (
            ("--tokens", tokens),
            ("--token-delay-ms", token_delay_ms),
            ("--first-token-delay-ms", first_token_delay_ms),
            ("--require-key", require_key),
        ):
            if value is not None:
                self._args += [flag, str(value)]
        self._fixed_port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._client: httpx.Client | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            self.port = self._fixed_port or _free_port(self.host)
            try:
                self._spawn()
                return self
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise
        return self

    def _spawn(self) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        cmd = [
            sys.executable,
            "-m",
            "tests.fakes.provider",
            "--host",
            self.host,
            "--port",
            str(self.port),
            *self._args,
        ]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self._log
        )
        self._client = httpx.Client(base_url=self.base_url, timeout=5.0)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"fake provider exited with {self._proc.returncode}:\n{self.server_log()}"
                )
            try:
                if self._client.get("/_fake/health", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"fake provider did not answer within {self.startup_timeout}s:\n{self.server_log()}"
        )

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=5)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def server_log(self) -> str:
        """What the server wrote to stderr so far (useful when a test fails)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    # --- URLs ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:  # what openai.OpenAI(base_url=...) takes
        return f"{self.base_url}/openai/v1"

    @property
    def deepseek_base_url(self) -> str:
        return f"{self.base_url}/deepseek"

    @property
    def openrouter_base_url(self) -> str:
        return f"{self.base_url}/openrouter/api/v1"

    @property
    def anthropic_base_url(self) -> str:  # what anthropic.Anthropic(base_url=...) takes
        return f"{self.base_url}/anthropic"

    # --- control API --------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("FakeProvider is not running")
        return self._client

    def requests(self, tag: str | None = None) -> list[dict[str, Any]]:
        params = {"tag": tag} if tag is not None else None
        response = self._http().get("/_fake/requests", params=params)
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()
        return records

    def clear(self) -> None:
        self._http().delete("/_fake/requests").raise_for_status()

    def clear_cache(self) -> None:
        """Forget every prompt prefix seen, so the next request reads nothing from the cache."""
        self._http().delete("/_fake/cache").raise_for_status()

    def wait_for(
        self, tag: str | None = None, *, timeout: float = 5.0, finished: bool = True
    ) -> dict[str, Any]:
        """The last request with `tag` once it exists (and, if `finished`, once it has ended)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.requests(tag)
            if records and (not finished or records[-1]["ended_at"] is not None):
                return records[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no {'finished ' if finished else ''}request with tag {tag!r}: {records}"
                )
            time.sleep(0.02)

    def set_defaults(self, overrides: dict[str, Any] | None) -> None:
        """Default scenario keys for all requests (a request's directive wins); None resets."""
        if overrides is None:
            self._http().delete("/_fake/defaults").raise_for_status()
        else:
            self._http().put("/_fake/defaults", json=overrides).raise_for_status()


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from .app import create_app
    from .engine import AbortLogFilter
    from .serving import ServerConfig

    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.provider", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18001)
    parser.add_argument("--tokens", type=int, default=8, help="default completion length in tokens")
    parser.add_argument(
        "--token-delay-ms", type=float, default=0.0, help="default sleep between token chunks"
    )
    parser.add_argument(
        "--first-token-delay-ms",
        type=float,
        default=0.0,
        help="default sleep before the first chunk",
    )
    parser.add_argument(
        "--require-key", default=None, help="reject requests without this API key (401)"
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    config = ServerConfig(
        tokens=args.tokens,
        token_delay_ms=args.token_delay_ms,
        first_token_delay_ms=args.first_token_delay_ms,
        require_key=args.require_key,
    )
    uv_config = uvicorn.Config(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    logging.getLogger("uvicorn.error").addFilter(AbortLogFilter())
    uvicorn.Server(uv_config).run()


if __name__ == "__main__":
    main()
