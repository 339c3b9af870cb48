"""``llm-gateway keys``, ``usage`` and ``cache``: operator commands that talk to Redis directly,
so they work without a gateway running."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from gateway.cli.options import ConfigOption
from shared.accounting import METRICS, Accounting, GroupBy, utc_day
from shared.apikeys import KeyBudget, KeyLimits, KeySettings, KeyStore, KeyUpdate
from shared.cache import ResponseCache
from shared.settings import Settings, load_settings

keys_app = typer.Typer(
    help="Create, list, change and revoke client API keys.", no_args_is_help=True
)
cache_app = typer.Typer(help="Drop cached answers.", no_args_is_help=True)
T = TypeVar("T")


def _with_redis(config: Path | None, work: Callable[[Settings, Redis], Awaitable[T]]) -> T:
    settings = load_settings(config)

    async def run() -> T:
        redis = Redis.from_url(settings.redis_url)
        try:
            return await work(settings, redis)
        finally:
            await redis.aclose()

    return asyncio.run(run())


def _limits(rpm: int | None, tpm: int | None, concurrency: int | None) -> KeyLimits:
    return KeyLimits(requests_per_minute=rpm, tokens_per_minute=tpm, concurrent_jobs=concurrency)


def _print_keys(records: list[dict[str, Any]]) -> None:
    table = Table("id", "name", "models", "limits", "budget", "revoked")
    for r in records:
        limits = ", ".join(f"{k}={v}" for k, v in r["limits"].items() if v is not None)
        budget = r["budget"]
        table.add_row(
            r["id"],
            r["name"],
            ", ".join(r["allowed_models"] or ["*"]),
            limits or "-",
            f"{budget['limit_usd']} USD/{budget['period']}" if budget else "-",
            "yes" if r["revoked"] else "",
        )
    Console().print(table)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    models: Annotated[str | None, typer.Option(help="comma-separated allowed models")] = None,
    rpm: Annotated[int | None, typer.Option(help="requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option(help="tokens per minute")] = None,
    concurrency: Annotated[int | None, typer.Option(help="jobs at once")] = None,
    budget_usd: Annotated[float | None, typer.Option(help="spend limit per period")] = None,
    budget_period: Annotated[str, typer.Option(help="day or month")] = "month",
    config: ConfigOption = None,
) -> None:
    """Create a key; its plaintext is printed once and never stored."""
    settings = KeySettings(
        name=name,
        allowed_models=models.split(",") if models else None,
        limits=_limits(rpm, tpm, concurrency),
        budget=(
            KeyBudget.model_validate({"limit_usd": budget_usd, "period": budget_period})
            if budget_usd
            else None
        ),
    )
    record, plaintext = _with_redis(
        config, lambda s, redis: KeyStore(redis, s.keys).create(settings)
    )
    _print_keys([record.public()])
    typer.echo(f"key: {plaintext}   (shown once: store it now)")


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """Every key, without secrets."""
    records = _with_redis(config, lambda s, redis: KeyStore(redis, s.keys).list())
    _print_keys([r.public() for r in records])


@keys_app.command("update")
def update(
    key_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    models: Annotated[str | None, typer.Option(help="comma-separated allowed models")] = None,
    rpm: Annotated[int | None, typer.Option()] = None,
    tpm: Annotated[int | None, typer.Option()] = None,
    concurrency: Annotated[int | None, typer.Option()] = None,
    config: ConfigOption = None,
) -> None:
    """Change a key's name, allowed models or limits."""
    change: dict[str, Any] = {}
    if name:
        change["name"] = name
    if models is not None:
        change["allowed_models"] = models.split(",") if models else None
    if rpm or tpm or concurrency:
        change["limits"] = _limits(rpm, tpm, concurrency)
    update = KeyUpdate.model_validate(change)
    record = _with_redis(config, lambda s, redis: KeyStore(redis, s.keys).update(key_id, update))
    if record is None:
        raise typer.BadParameter(f"no key {key_id}")
    _print_keys([record.public()])


@keys_app.command("revoke")
def revoke(key_id: str, config: ConfigOption = None) -> None:
    """Revoke a key: every gateway refuses it from its next request on."""
    record = _with_redis(config, lambda s, redis: KeyStore(redis, s.keys).revoke(key_id))
    if record is None:
        raise typer.BadParameter(f"no key {key_id}")
    _print_keys([record.public()])


def usage(
    days: Annotated[int, typer.Option(help="how many days back, today included")] = 30,
    group_by: Annotated[str, typer.Option(help="comma list of key, model, provider, day")] = (
        "key,model,provider"
    ),
    key: Annotated[str | None, typer.Option(help="only this key id")] = None,
    config: ConfigOption = None,
) -> None:
    """Token usage and cost as a table (the same sums as GET /api/v1/usage)."""
    until = utc_day(time.time())
    since = until - timedelta(days=days - 1)
    groups = cast("list[GroupBy]", [g.strip() for g in group_by.split(",") if g.strip()])
    rows = _with_redis(
        config,
        lambda s, redis: Accounting(redis, s.keys).report(
            since=since, until=until, key=key, group_by=groups
        ),
    )
    table = Table(*groups, *METRICS, title=f"usage {since} .. {until}")
    for row in rows:
        table.add_row(*(str(row[g]) for g in groups), *(str(row[m]) for m in METRICS))
    Console().print(table)


@cache_app.command("clear")
def clear_cache(
    namespace: Annotated[
        str | None, typer.Option(help="global, or key:<key id>: that namespace's answers")
    ] = None,
    entry: Annotated[
        str | None, typer.Option(help="one answer, as X-Cache-Key names it: <namespace>/<digest>")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="every cached answer")] = False,
    config: ConfigOption = None,
) -> None:
    """Drop cached answers: one entry, one namespace, or --all."""
    if sum((namespace is not None, entry is not None, everything)) != 1:
        raise typer.BadParameter("give exactly one of --namespace, --entry or --all")
    digest = None
    if entry is not None:
        namespace, _, digest = entry.rpartition("/")
        if not namespace or not digest:
            raise typer.BadParameter("--entry reads <namespace>/<digest>, as X-Cache-Key shows")
    dropped = _with_redis(
        config, lambda s, redis: ResponseCache(redis, s.keys).invalidate(namespace, digest)
    )
    typer.echo(f"dropped {dropped} cached answer{'s' if dropped != 1 else ''}")
