"""``llm-gateway usage``: the gateway's usage report (``GET /api/v1/usage``) as a table that fits
a terminal, or as the report's own JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.cli.admin_client import open_admin
from gateway.cli.options import AdminKeyOption, ConfigOption, GatewayUrlOption, JsonOption
from gateway.cli.output import count, print_json, print_table, usd
from shared.accounting import METRICS, utc_day

# The columns most questions need: how much, and what it cost. --wide shows every metric.
NARROW = {
    "requests": "requests",
    "prompt_tokens": "input tokens",
    "completion_tokens": "output tokens",
    "cost_usd": "cost USD",
}


def _cell(metric: str) -> Callable[[float], str]:
    return usd if metric.endswith("cost_usd") else count


def usage(
    days: Annotated[int, typer.Option(min=1, help="how many UTC days back, today included")] = 30,
    since: Annotated[
        str | None, typer.Option("--from", help="first UTC day (YYYY-MM-DD); overrides --days")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="last UTC day [default: today]")] = None,
    group_by: Annotated[
        str,
        typer.Option("--group-by", "-g", help="comma list of key, model, provider, day"),
    ] = "key,model",
    key: Annotated[str | None, typer.Option(help="only this key id")] = None,
    model: Annotated[str | None, typer.Option(help="only this model")] = None,
    provider: Annotated[str | None, typer.Option(help="only this provider")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="every metric, not only the main four")] = (
        False
    ),
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Token usage and cost per key, model, provider or day."""
    first = since or (utc_day(time.time()) - timedelta(days=days - 1)).isoformat()
    params = {"from": first, "group_by": group_by}
    optional = {"to": until, "key": key, "model": model, "provider": provider}
    params.update({name: value for name, value in optional.items() if value})
    with open_admin(config, url, admin_key) as admin:
        report = admin.get("/api/v1/usage", params=params)
    if as_json:
        print_json(report)
    else:
        _print_report(report, wide)


def _print_report(report: dict[str, Any], wide: bool) -> None:
    groups: list[str] = report["group_by"]
    metrics = {m: m for m in METRICS} if wide else NARROW
    rows: list[dict[str, Any]] = report["data"]
    span = f"{report['from']} .. {report['to']}"
    if not rows:
        typer.echo(f"no usage {span} (UTC)")
        return
    table = Table(title=f"usage {span} (UTC), by {', '.join(groups)}", title_justify="left")
    for group in groups:
        table.add_column(group)
    for label in metrics.values():
        table.add_column(label, justify="right")
    for row in rows:
        table.add_row(*(str(row[g]) for g in groups), *(_cell(m)(row.get(m, 0)) for m in metrics))
    if len(rows) > 1:
        table.add_section()
        totals = {m: sum(row.get(m, 0) for row in rows) for m in metrics}
        blanks = [""] * (len(groups) - 1)
        table.add_row("total", *blanks, *(_cell(m)(totals[m]) for m in metrics))
    print_table(table)
