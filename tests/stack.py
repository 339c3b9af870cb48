"""The whole stack for integration tests: real redis-server, fake provider, worker, gateway.

Every part is a real process on localhost; tests talk to them over sockets only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import redis
import yaml

from gateway.cli.redis_server import EmbeddedRedis, free_port, start_redis_server
from tests.fakes.provider import FakeProvider

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "fake-provider-test-key"
ADMIN_KEY = "test-admin-key-not-for-production"
STREAM_TOKEN_SECRET = "test-stream-token-secret-not-for-production"


def require_redis_server() -> EmbeddedRedis:
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("integration tests need redis-server on the PATH (.ci/run installs it)")
    return start_redis_server(executable)


def openai_style(fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "openai_compatible",
        "base_url": fake.openai_base_url,
        "api_key_env": "FAKE_PROVIDER_KEY",
        "timeouts": {"connect_s": 2, "first_token_s": 20, "idle_s": 20, "total_s": 120},
        **extra,
    }


def adapter_style(kind: str, base_url: str, **extra: Any) -> dict[str, Any]:
    """A provider of one of the native adapters (deepseek, openrouter, anthropic) on the fake."""
    return {
        "kind": kind,
        "base_url": base_url,
        "api_key_env": "FAKE_PROVIDER_KEY",
        "timeouts": {"connect_s": 2, "first_token_s": 20, "idle_s": 20, "total_s": 120},
        **extra,
    }


# Gateway model -> (provider, upstream model, route-step extra_body) for the adapter tests.
# Each fault test has its own upstream model, so no happy-path model's circuit ever opens.
ADAPTER_MODELS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ds-chat": ("deepseek", "deepseek-chat", {}),
    "ds-reasoner": ("deepseek", "deepseek-reasoner", {}),
    "ds-plain": ("deepseek_plain", "deepseek-chat", {}),
    "ds-flash": ("deepseek", "deepseek-v4-flash", {"thinking": {"type": "disabled"}}),
    "ds-thinking": ("deepseek", "deepseek-v4-flash", {"thinking": {"type": "enabled"}}),
    "ds-fault-early": ("deepseek", "deepseek-fault-early", {}),
    "ds-fault-late": ("deepseek", "deepseek-fault-late", {}),
    "or-model": ("openrouter", "anthropic/claude-3.5-sonnet", {}),
    "or-routed": (
        "openrouter",
        "openai/gpt-4o-mini",
        {"models": ["openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet"]},
    ),
    "or-fault-int": ("openrouter", "fault/int-code", {}),
    "or-fault-str": ("openrouter", "fault/str-code", {}),
    "claude": ("anthropic", "claude-sonnet-4-20250514", {}),
    "claude-thinking": (
        "anthropic",
        "claude-sonnet-4-20250514",
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    ),
    # Newer models' default: signed thinking with its text left out ("thinking": "").
    "claude-thinking-omitted": (
        "anthropic",
        "claude-sonnet-4-20250514",
        {"thinking": {"type": "enabled", "budget_tokens": 1024, "display": "omitted"}},
    ),
    "claude-overloaded": ("anthropic", "claude-fault-overloaded", {}),
    "claude-529": ("anthropic", "claude-fault-529", {}),
    "claude-no-stop": ("anthropic", "claude-fault-no-stop", {}),
    "claude-invalid": ("anthropic", "claude-fault-invalid", {}),
}


def adapter_config(fake: FakeProvider) -> dict[str, Any]:
    """Providers and models of the DeepSeek, OpenRouter and Anthropic adapters on the fake."""
    providers = {
        "deepseek": adapter_style("deepseek", fake.deepseek_base_url),
        "deepseek_plain": adapter_style(
            "deepseek", fake.deepseek_base_url, options={"include_usage": False}
        ),
        "openrouter": adapter_style(
            "openrouter",
            fake.openrouter_base_url,
            options={"app_url": "https://gateway.test", "app_title": "llm-gateway tests"},
        ),
        "anthropic": adapter_style(
            "anthropic", fake.anthropic_base_url, options={"default_max_tokens": 1000}
        ),
    }
    models = {
        name: {"route": [{"provider": provider, "model": model, "extra_body": extra}]}
        for name, (provider, model, extra) in ADAPTER_MODELS.items()
    }
    return {"providers": providers, "models": models}


# USD per million tokens; an older entry proves the one in force is chosen by date.
PRICES: dict[str, dict[str, list[dict[str, Any]]]] = {
    "fake": {
        "fake-model": [
            {"effective_from": "2020-01-01", "input_per_mtok": 9, "output_per_mtok": 9},
            {
                "effective_from": "2025-01-01",
                "input_per_mtok": 1.5,
                "cached_input_per_mtok": 0.5,
                "output_per_mtok": 6,
            },
        ]
    },
    "deepseek": {
        "deepseek-chat": [
            {"input_per_mtok": 0.28, "cached_input_per_mtok": 0.028, "output_per_mtok": 0.42}
        ],
        "deepseek-reasoner": [{"input_per_mtok": 0.55, "output_per_mtok": 2.19}],
    },
    "openrouter": {"anthropic/claude-3.5-sonnet": [{"input_per_mtok": 3, "output_per_mtok": 15}]},
    "anthropic": {
        "claude-sonnet-4-20250514": [
            {
                "input_per_mtok": 3,
                "cached_input_per_mtok": 0.3,
                "cache_write_5m_per_mtok": 3.75,  # 1.25x input (wire-tools §4.6)
                "cache_write_1h_per_mtok": 6,  # 2x input
                "output_per_mtok": 15,
            }
        ]
    },
}


def stack_config(fake: FakeProvider, *, keepalive_interval_s: float) -> dict[str, Any]:
    """Providers and models of the test stack, all served by the one fake provider.

    Two provider names point at the same fake, so fallback moves between providers with their
    own circuits; the upstream model names let a prompt target one step (``FAKE:<model>{}``).
    """
    adapters = adapter_config(fake)
    return {
        "keepalive_interval_s": keepalive_interval_s,
        "default_model": "fake",
        # Small caps, so the tests of each refusal send little: the body's, and an image's
        # below it (so an oversized image reaches the attachment check).
        "max_body_bytes": 1_048_576,
        "attachments": {"max_image_bytes": 262_144, "max_file_bytes": 262_144, "max_images": 8},
        "circuit": {"failure_threshold": 3, "window_s": 30, "open_s": 1.5, "probe_timeout_s": 5},
        "cache": {"max_entry_bytes": 65_536},
        "prices": PRICES,
        "providers": {
            "fake": openai_style(fake),
            "fake_backup": openai_style(fake),
            # Short budgets, so timeout faults fall back within a test's patience.
            "fake_quick": openai_style(
                fake, timeouts={"connect_s": 1, "first_token_s": 0.6, "idle_s": 0.6, "total_s": 5}
            ),
            # Nothing listens on port 9 (discard) here: every connect is refused.
            "unreachable": {
                "kind": "openai_compatible",
                "base_url": "http://127.0.0.1:9/v1",
                "timeouts": {"connect_s": 1},
            },
            "demo": {"kind": "demo", "options": {"token_delay_s": 0.001}},
            "fake_limited": openai_style(fake, limits={"concurrent_requests": 2}),
            **adapters["providers"],
        },
        "models": {
            "fake": {"route": [{"provider": "fake", "model": "fake-model"}]},
            # A model Codex CLI knows: it then sends its custom apply_patch tool and a
            # reasoning effort (the gpt-5 upstream name takes reasoning).
            "gpt-5.5": {"route": [{"provider": "fake", "model": "gpt-5.5"}]},
            "limited": {"route": [{"provider": "fake_limited", "model": "fake-l"}]},
            "limited-then-backup": {
                "route": [
                    {"provider": "fake_limited", "model": "fake-l2"},
                    {"provider": "fake_backup", "model": "fake-b"},
                ]
            },
            "filtered": {
                "route": [{"provider": "fake", "model": "fake-model"}],
                "output_filters": [
                    {"preset": "email", "replacement": "[email]", "max_match_chars": 64}
                ],
            },
            "chain": {
                "route": [
                    {"provider": "fake", "model": "fake-a"},
                    {"provider": "fake_backup", "model": "fake-b"},
                ]
            },
            "retrying": {"route": [{"provider": "fake", "model": "fake-r", "attempts": 2}]},
            "contexts": {
                "route": [
                    {"provider": "fake", "model": "fake-small", "context_window": 8000},
                    {"provider": "fake_backup", "model": "fake-same", "context_window": 8000},
                    {"provider": "fake_backup", "model": "fake-large", "context_window": 128000},
                ]
            },
            "quick": {
                "route": [
                    {"provider": "fake_quick", "model": "fake-q"},
                    {"provider": "fake_backup", "model": "fake-b"},
                ]
            },
            "behind-dead": {
                "route": [
                    {"provider": "unreachable", "model": "nobody-home"},
                    {"provider": "fake_backup", "model": "fake-b"},
                ]
            },
            # Cached whatever the temperature; "cached-shared" across keys.
            # Own upstream names: their faults open no circuit other tests depend on.
            "cached": {
                "route": [{"provider": "fake", "model": "fake-cached"}],
                "cache": {"eligible": "always"},
            },
            "cached-faults": {
                "route": [{"provider": "fake", "model": "fake-cached-faults"}],
                "cache": {"eligible": "always"},
            },
            "cached-shared": {
                "route": [{"provider": "fake", "model": "fake-cached"}],
                "cache": {"eligible": "always", "scope": "global", "ttl_s": 600},
            },
            "cached-chain": {
                "route": [
                    {"provider": "fake", "model": "fake-a"},
                    {"provider": "fake_backup", "model": "fake-b"},
                ],
                "cache": {"eligible": "always"},
            },
            "embed": {"route": [{"provider": "fake", "model": "text-embedding-3-small"}]},
            "embed-cached": {
                "route": [{"provider": "fake", "model": "text-embedding-3-large"}],
                "cache": {"scope": "global"},
            },
            # DeepSeek takes no images: a request with one goes to the second step.
            "ds-then-fake": {
                "route": [
                    {"provider": "deepseek", "model": "deepseek-chat"},
                    {"provider": "fake", "model": "fake-vision"},
                ]
            },
            # Its own upstream name: the metrics test opens this circuit.
            "metrics-circuit": {"route": [{"provider": "fake", "model": "fake-metrics-circuit"}]},
            # Errors echoing the key: their failures open no circuit others use.
            "secrets": {"route": [{"provider": "fake", "model": "fake-secrets"}]},
            "guarded": {
                "route": [
                    {"provider": "fake", "model": "fake-c"},
                    {"provider": "fake_backup", "model": "fake-d"},
                ]
            },
            **adapters["models"],
        },
    }


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def stop(self, timeout_s: float = 15) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Process:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", *args],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return Process(name, popen, log_path, log)


def stack_env(redis_url: str, config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "LLM_GATEWAY_CONFIG": str(config),
        "FAKE_PROVIDER_KEY": FAKE_KEY,
        "LLM_GATEWAY_ADMIN_KEY": ADMIN_KEY,
        "LLM_GATEWAY_STREAM_TOKENS__SECRET": STREAM_TOKEN_SECRET,
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(
    env: dict[str, str],
    log_dir: Path,
    redis_url: str,
    name: str = "worker",
    queue: str = "llm.interactive",
    loglevel: str = "WARNING",
) -> Process:
    """A worker of ``queue``, started as an operator would; returns once it heartbeats."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    def workers() -> set[str]:
        return {str(member) for member in client.zrange(f"llm:workers:{queue}", 0, -1)}

    before = workers()
    args = ["worker", "--queues", queue, "--loglevel", loglevel]
    process = spawn(name, args, env, log_dir)
    deadline = time.monotonic() + 30
    try:
        while not workers() - before:
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{process.tail()}")
            time.sleep(0.05)
    finally:
        client.close()
    return process


def start_gateway(
    env: dict[str, str], log_dir: Path, name: str = "gateway", extra_args: tuple[str, ...] = ()
) -> tuple[Process, str]:
    port = free_port()
    process = spawn(name, ["gateway", "--port", str(port), *extra_args], env, log_dir)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base_url}/api/v1/health/ready", timeout=1).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            pass
        if process.popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gateway did not become healthy:\n{process.tail()}")
        time.sleep(0.05)


def create_api_key(base_url: str, name: str, **settings: Any) -> str:
    """A new client key, made through the admin API as an operator would."""
    response = httpx.post(
        f"{base_url}/api/v1/admin/keys",
        json={"name": name, **settings},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=10,
    )
    response.raise_for_status()
    key: str = response.json()["key"]
    return key
