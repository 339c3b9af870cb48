"""``llm-gateway cache``: drop cached answers over the admin API (``/api/v1/admin/cache``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from gateway.cli.admin_client import open_admin
from gateway.cli.options import AdminKeyOption, ConfigOption, GatewayUrlOption, JsonOption
from gateway.cli.output import print_json

cache_app = typer.Typer(help="Drop cached answers.", no_args_is_help=True)
CACHE = "/api/v1/admin/cache"


@cache_app.command("clear")
def clear_cache(
    namespace: Annotated[
        str | None, typer.Option(help="global, or key:<key id>: that namespace's answers")
    ] = None,
    entry: Annotated[
        str | None, typer.Option(help="one answer, as X-Cache-Key names it: <namespace>/<digest>")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="every cached answer")] = False,
    as_json: JsonOption = False,
    url: GatewayUrlOption = None,
    admin_key: AdminKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Drop cached answers: one entry, one namespace, or --all."""
    if sum((namespace is not None, entry is not None, everything)) != 1:
        raise typer.BadParameter("give exactly one of --namespace, --entry or --all")
    path = CACHE
    if entry is not None:
        namespace, _, digest = entry.rpartition("/")
        if not namespace or not digest:
            raise typer.BadParameter("--entry reads <namespace>/<digest>, as X-Cache-Key shows")
        path = f"{CACHE}/{quote(namespace, safe=':')}/{quote(digest, safe='')}"
    elif namespace is not None:
        path = f"{CACHE}/{quote(namespace, safe=':')}"
    with open_admin(config, url, admin_key) as admin:
        answer = admin.request("DELETE", path)
    if as_json:
        print_json(answer)
        return
    dropped = answer["dropped"]
    typer.echo(f"dropped {dropped} cached answer{'s' if dropped != 1 else ''}")
