"""``llm-gateway keys``: client API keys, managed over the gateway's admin API
(``/api/v1/admin/keys``), so a key made here is one that gateway sees."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from gateway.cli.admin_client import open_admin
from gateway.cli.options import AdminKeyOption, ConfigOption, GatewayUrlOption, JsonOption
from gateway.cli.output import print_json, print_table

keys_app = typer.Typer(
    help="Create, list, show, change and revoke client API keys.", no_args_is_help=True
)
KEYS = "/api/v1/admin/keys"

ModelsOption = Annotated[
    str | None, typer.Option(help='comma-separated allowed models ("" on update: any)')
]
BudgetOption = Annotated[float | None, typer.Option(help="spend limit in USD per period")]
PeriodOption = Annotated[str | None, typer.Option(help="budget period: day or month")]
WarnOption = Annotated[
    float | None, typer.Option(help="warn from this fraction of the budget on (0.8)")
]


def _limits_cell(limits: dict[str, int | None]) -> str:
    short = {"requests_per_minute": "rpm", "tokens_per_minute": "tpm", "concurrent_jobs": "jobs"}
    shown = [f"{short.get(k, k)}={v}" for k, v in limits.items() if v is not None]
    return " ".join(shown) or "-"


def _budget_cell(budget: dict[str, Any] | None) -> str:
    return f"{budget['limit_usd']:g} USD/{budget['period']}" if budget else "-"


def _print_keys(records: list[dict[str, Any]]) -> None:
    table = Table("id", "name", "models", "limits", "budget", "state")
    for r in records:
        table.add_row(
            r["id"],
            r["name"],
            ",".join(r["allowed_models"]) if r["allowed_models"] is not None else "*",
            _limits_cell(r["limits"]),
            _budget_cell(r["budget"]),
            "revoked" if r["revoked"] else "active",
        )
    print_table(table)


def _print_key(record: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["created_at"]))
    budget = record["budget"]
    rows = [
        ("id", record["id"]),
        ("name", record["name"]),
        ("state", "revoked" if record["revoked"] else "active"),
        ("created", created),
        ("models", ", ".join(record["allowed_models"] or []) or "any"),
        *((name, str(value or "-")) for name, value in record["limits"].items()),
        ("budget", _budget_cell(budget)),
    ]
    if budget:
        rows.append(("warn at", f"{budget['warn_at_fraction']:.0%} of the budget"))
    for name, value in rows:
        table.add_row(name, value)
    print_table(table)


def _models(models: str | None) -> list[str] | None:
    """The allowed models; None (any model) for none or an empty list."""
    names = [m.strip() for m in (models or "").split(",") if m.strip()]
    return names or None


def _key_path(key_id: str) -> str:
    return f"{KEYS}/{quote(key_id, safe='')}"


def _budget(usd: float | None, period: str | None, warn_at: float | None) -> dict[str, Any]:
    # Left to the gateway to validate, so a refusal reads as its own code and message.
    budget: dict[str, Any] = {"limit_usd": usd}
    if period is not None:
        budget["period"] = period
    if warn_at is not None:
        budget["warn_at_fraction"] = warn_at
    return budget


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    models: ModelsOption = None,
    rpm: Annotated[int | None, typer.Option(help="requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option(help="tokens per minute")] = None,
    concurrency: Annotated[int | None, typer.Option(help="jobs at once")] = None,
    budget_usd: BudgetOption = None,
    budget_period: PeriodOption = None,
    budget_warn_at: WarnOption = None,
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a key; its plaintext is printed once and never stored."""
    body: dict[str, Any] = {
        "name": name,
        "allowed_models": _models(models),
        "limits": {
            "requests_per_minute": rpm,
            "tokens_per_minute": tpm,
            "concurrent_jobs": concurrency,
        },
    }
    if budget_usd is not None:
        body["budget"] = _budget(budget_usd, budget_period, budget_warn_at)
    elif budget_period is not None or budget_warn_at is not None:
        raise typer.BadParameter("--budget-period and --budget-warn-at need --budget-usd")
    with open_admin(config, url, admin_key) as admin:
        record = admin.request("POST", KEYS, body=body)
    if as_json:
        print_json(record)
        return
    _print_keys([record])
    typer.echo(f"key: {record['key']}   (shown once: store it now)")


@keys_app.command("list")
def list_keys(
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Every key, without secrets."""
    with open_admin(config, url, admin_key) as admin:
        page = admin.get(KEYS)
    if as_json:
        print_json(page)
    elif not page["data"]:
        typer.echo(f"no API keys on {admin.target.url}")
    else:
        _print_keys(page["data"])


@keys_app.command("show")
def show(
    key_id: str,
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """One key's settings."""
    with open_admin(config, url, admin_key) as admin:
        record = admin.get(_key_path(key_id))
    if as_json:
        print_json(record)
    else:
        _print_key(record)


@keys_app.command("update")
def update(
    key_id: str,
    name: Annotated[str | None, typer.Option(help="a new name")] = None,
    models: ModelsOption = None,
    rpm: Annotated[int | None, typer.Option(help="requests per minute (0: no limit)")] = None,
    tpm: Annotated[int | None, typer.Option(help="tokens per minute (0: no limit)")] = None,
    concurrency: Annotated[int | None, typer.Option(help="jobs at once (0: no limit)")] = None,
    budget_usd: BudgetOption = None,
    budget_period: PeriodOption = None,
    budget_warn_at: WarnOption = None,
    no_budget: Annotated[bool, typer.Option("--no-budget", help="remove the budget")] = False,
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Change a key's name, allowed models, limits or budget; what is not given stays."""
    change: dict[str, Any] = {}
    if name is not None:
        change["name"] = name
    if models is not None:
        change["allowed_models"] = _models(models)
    given_limits = {
        "requests_per_minute": rpm,
        "tokens_per_minute": tpm,
        "concurrent_jobs": concurrency,
    }
    budget_given = any(v is not None for v in (budget_usd, budget_period, budget_warn_at))
    if no_budget and budget_given:
        raise typer.BadParameter("--no-budget takes no other budget option")
    with open_admin(config, url, admin_key) as admin:
        path = _key_path(key_id)
        current: dict[str, Any] | None = None
        # The API replaces limits and budget as a whole: merge into the key's own, so that
        # `--rpm 10` leaves its tokens per minute as they were.
        if any(v is not None for v in given_limits.values()) or budget_given:
            current = admin.get(path)
        if current is not None and any(v is not None for v in given_limits.values()):
            change["limits"] = {
                **current["limits"],
                **{k: (v or None) for k, v in given_limits.items() if v is not None},
            }
        if no_budget:
            change["budget"] = None
        elif current is not None and budget_given:
            base = current["budget"] or {}
            change["budget"] = {
                **base,
                **_budget(budget_usd or base.get("limit_usd"), budget_period, budget_warn_at),
            }
        if not change:
            raise typer.BadParameter("nothing to change: give at least one option")
        record = admin.request("PATCH", path, body=change)
    if as_json:
        print_json(record)
    else:
        _print_keys([record])


@keys_app.command("revoke")
def revoke(
    key_id: str,
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a key: every gateway refuses it from its next request on."""
    with open_admin(config, url, admin_key) as admin:
        record = admin.request("DELETE", _key_path(key_id))
    if as_json:
        print_json(record)
    else:
        _print_keys([record])
