"""Printing answers: rich tables for people, the gateway's JSON for programs."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


def print_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))


def count(value: float) -> str:
    return f"{int(value):,}"


def usd(value: float) -> str:
    # Six places: one request on a cheap model costs millionths of a dollar.
    return "0" if not value else f"{value:,.6f}"


def print_table(table: Table) -> None:
    """The table at its natural width, wider than the terminal if need be: a squeezed table
    folds or cuts key ids and numbers, and an id must stay whole to be copied."""
    console = Console()
    needed = console.measure(table, options=console.options.update_width(10_000)).maximum
    if needed > console.width:
        console = Console(width=needed)
    console.print(table)
