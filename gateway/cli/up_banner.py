"""What ``llm-gateway up`` says once it is up: where everything is, and the keys to use."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.markup import escape

from gateway.cli.dev_access import DevAccess
from gateway.cli.state_file import RedisInfo


def redis_description(redis: RedisInfo, data_dir: Path | None) -> str:
    if redis.kind == "external":
        return "given by REDIS_URL or the config"
    if redis.kind == "fakeredis":
        return "in-process fakeredis: keeps nothing, for trying things out only"
    if redis.persistent and data_dir is not None:
        return f"private redis-server, append-only file in {data_dir / 'redis'}"
    return "private redis-server, keeps nothing"


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def print_banner(
    console: Console,
    *,
    base_url: str,
    local_cors: bool = False,
    show_console: bool = True,
    flower_url: str | None,
    access: DevAccess | None,
    redis: RedisInfo,
    state_file: Path,
    data_dir: Path | None,
) -> None:
    line = console.print
    line(f"\n[bold green]llm-gateway is up[/] at {base_url}")
    line(f"  API docs:  {base_url}/docs")
    line(f"  OpenAI:    {base_url}/v1  (base_url for OpenAI SDKs; Batch API too)")
    line(f"  GraphQL:   {base_url}/graphql")
    if show_console:
        line(f"  Console:   {base_url}/console  (playground, keys, usage, jobs)")
    if local_cors:
        line("  CORS:      pages on localhost / 127.0.0.1 (any port) may call it")
    if flower_url:
        # Loopback only (see up._start_children): no login, which only this machine reaches.
        line(f"  Flower:    {flower_url}  (no login: loopback only, for development)")
    described = redis_description(redis, data_dir)
    line(f"  Redis:     {escape(without_password(redis.url))}  ({escape(described)})")
    if data_dir is not None:
        line(f"  Data:      {escape(str(data_dir))}  (Redis, keys and batch files kept)")
    line(f"  State:     {escape(str(state_file))}  (how `llm-gateway keys` finds this gateway)")
    auth = ""
    if access is not None:
        kept = "  (kept from the last run)" if access.dev_key_kept else ""
        line(f"\n  API key (development): {access.dev_key}{kept}")
        if access.admin_key_origin == "generated":
            line(f"  Admin key (this run):  {access.admin_key}")
        elif access.admin_key_origin == "kept":
            line(f"  Admin key (kept):      {access.admin_key}")
        auth = f" -H 'Authorization: Bearer {access.dev_key}'"
    line("\nTry it:")
    line(f"  curl -N{auth} '{base_url}/api/v1/llm/complete/stream?prompt=Hello'", soft_wrap=True)
    line("  llm-gateway keys list   ·   llm-gateway usage")
    line("\nCtrl-C stops everything.\n")
