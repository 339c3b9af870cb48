"""``llm-gateway up``: Redis, the gateway, a worker, a batch worker and Flower as child processes,
one command.

Once the gateway is healthy, ``up`` writes a state file (its URL and keys, 0600) by which the
command line finds it, and removes it when it stops. With ``--data-dir`` everything a restart
should find again lives there: Redis's append-only file, the batch files, and a copy of the
state file, whose keys the next ``up`` in that directory reuses.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from gateway.cli.children import Child, spawn, stop_children, supervise, wait_until_healthy
from gateway.cli.dev_access import DevAccess, dev_access
from gateway.cli.errors import CliError, ExitCode
from gateway.cli.options import settings_from
from gateway.cli.redis_server import free_port, redis_for_up
from gateway.cli.state_file import (
    DATA_DIR_STATE,
    RedisInfo,
    UpState,
    mark_stopped,
    read_state,
    remove_if_ours,
    write_state,
)
from gateway.cli.up_banner import print_banner
from shared.settings import Settings

# Origins of pages on this machine, which `up` lets call its gateway unless the config names
# origins itself.
LOCAL_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"


def run_up(
    *,
    host: str,
    port: int,
    config: Path | None,
    flower: bool,
    data_dir: Path | None,
    console: Console,
) -> int:
    """Run everything until Ctrl-C, restarting a child that dies; returns the exit code."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    settings = settings_from(config)
    data_dir = data_dir.resolve() if data_dir is not None else None
    previous = _previous_run(data_dir)
    other = _another_up(settings.up_state_file, console)
    with redis_for_up(settings, data_dir, console) as redis:
        settings = settings.model_copy(update={"redis_url": redis.url})
        access = dev_access(settings, previous) if settings.auth_enabled else None
        env = _child_env(settings, config, data_dir, access)
        children, flower_url = _start_children(settings, host, port, flower, env)
        if flower and not _loopback(host):
            console.print(
                "[yellow]Flower not started: it has no login here and --host is "
                "not loopback; run it with --basic-auth (deploy/README.md).[/]"
            )
        base_url = f"http://{host}:{port}"
        state = None
        try:
            if not wait_until_healthy(base_url, children, timeout_s=60):
                if not stopping:
                    console.print("[red]The gateway did not become healthy; stopping.[/]")
                return 1
            state = _state(base_url, flower_url, access, redis, data_dir)
            _publish(settings, state, console)
            print_banner(
                console,
                base_url=base_url,
                local_cors=env.get("LLM_GATEWAY_CORS__ALLOW_ORIGIN_REGEX") == LOCAL_ORIGINS,
                show_console=settings.console,
                flower_url=flower_url,
                access=access,
                redis=redis,
                state_file=settings.up_state_file,
                data_dir=data_dir,
            )
            supervise(children, console, lambda: stopping)
            console.print("Stopping…")
            return 0
        finally:
            # Withdrawn before the children stop, so the CLI says "stopped", not "refused".
            if state is not None:
                _withdraw(settings, state, other)
            stop_children(children, console)


def _previous_run(data_dir: Path | None) -> UpState | None:
    """The last run in this data dir, whose keys this one keeps; refuses a dir in use."""
    if data_dir is None:
        return None
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    previous = read_state(data_dir / DATA_DIR_STATE)
    if previous is not None and previous.running:
        raise CliError(
            f"{data_dir} is in use by {previous.describe()}; stop it first", ExitCode.USAGE
        )
    return previous


def _another_up(state_file: Path, console: Console) -> UpState | None:
    """The ``up`` that runs already, whose state file this one takes over while it runs."""
    try:
        other = read_state(state_file)
    except CliError:
        return None  # overwritten once this one is up
    if other is None or not other.running:
        return None
    console.print(
        f"[yellow]{other.describe()} runs too; the command line finds this one while it runs "
        f"(LLM_GATEWAY_URL={other.url} reaches the other).[/]"
    )
    return other


def _child_env(
    settings: Settings, config: Path | None, data_dir: Path | None, access: DevAccess | None
) -> dict[str, str]:
    # Secrets go to the children in their environment, never on their command lines.
    env = {**os.environ, "REDIS_URL": settings.redis_url}
    env.pop("LLM_GATEWAY_REDIS_URL", None)  # it would win over REDIS_URL in the children
    if config is not None:
        env["LLM_GATEWAY_CONFIG"] = str(config.resolve())
    if data_dir is not None:
        env["LLM_GATEWAY_BATCH__STORAGE_DIR"] = str(data_dir / "files")
    if access is not None:
        env["LLM_GATEWAY_ADMIN_KEY"] = access.admin_key
        if access.stream_token_secret is not None:
            env["LLM_GATEWAY_STREAM_TOKENS__SECRET"] = access.stream_token_secret
    if not settings.cors.allow_origins and settings.cors.allow_origin_regex is None:
        # A development run: pages served from this machine may call it.
        env["LLM_GATEWAY_CORS__ALLOW_ORIGIN_REGEX"] = LOCAL_ORIGINS
    return env


def _start_children(
    settings: Settings, host: str, port: int, flower: bool, env: dict[str, str]
) -> tuple[list[Child], str | None]:
    cli = [sys.executable, "-m", "gateway.cli.main"]
    worker = [*cli, "worker", "--loglevel", "WARNING", "--quiet"]
    children = [
        spawn("gateway", [*cli, "gateway", "--host", host, "--port", str(port)], env),
        spawn("worker", worker, env, quiet_stdout=True),
        # Batches run on their own queue and process, apart from interactive jobs.
        spawn("batch-worker", [*worker, "--queues", settings.batch.queue], env, quiet_stdout=True),
    ]
    if not flower or importlib.util.find_spec("flower") is None:
        return children, None
    if not _loopback(host):
        # Flower can revoke tasks and stop workers: open only where nobody else reaches it.
        # Elsewhere run it behind its login (deploy/README.md), not from `up`.
        return children, None
    flower_port = free_port(host)
    # The broker in the environment: a broker URL may carry a password.
    flower_env = {**env, "CELERY_BROKER_URL": settings.celery_broker_url}
    flower_args = [
        sys.executable,
        "-m",
        "celery",
        "flower",
        f"--address={host}",
        f"--port={flower_port}",
        # At warning, Flower reports every worker that has not answered its first inspection.
        "--logging=error",
    ]
    children.append(spawn("flower", flower_args, flower_env, quiet_stdout=True))
    return children, f"http://{host}:{flower_port}"


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _state(
    base_url: str,
    flower_url: str | None,
    access: DevAccess | None,
    redis: RedisInfo,
    data_dir: Path | None,
) -> UpState:
    return UpState(
        pid=os.getpid(),
        url=base_url,
        admin_key=access.admin_key if access else None,
        dev_key=access.dev_key if access else None,
        stream_token_secret=access.stream_token_secret if access else None,
        redis=redis,
        data_dir=str(data_dir) if data_dir is not None else None,
        flower_url=flower_url,
        started_at=time.time(),
    )


def _publish(settings: Settings, state: UpState, console: Console) -> None:
    if state.data_dir is not None:
        # Not optional: the next run in this data dir takes its keys from here.
        write_state(Path(state.data_dir) / DATA_DIR_STATE, state)
    try:
        write_state(settings.up_state_file, state)
    except OSError as error:
        console.print(
            f"[yellow]Cannot write the state file {settings.up_state_file} ({error.strerror}): "
            f"the command line needs LLM_GATEWAY_URL={state.url} to find this gateway.[/]"
        )


def _withdraw(settings: Settings, state: UpState, other: UpState | None) -> None:
    if state.data_dir is not None:
        mark_stopped(Path(state.data_dir) / DATA_DIR_STATE, state)
    removed = remove_if_ours(settings.up_state_file, state.pid)
    if removed and other is not None and other.running:
        # The one that ran before this one is found again.
        with contextlib.suppress(OSError):
            write_state(settings.up_state_file, other)
