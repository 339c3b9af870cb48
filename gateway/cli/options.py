"""Options several commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (or $LLM_GATEWAY_CONFIG)",
        exists=True,
        dir_okay=False,
    ),
]

# No envvar here: LLM_GATEWAY_URL and LLM_GATEWAY_ADMIN_KEY are read with the other settings.
GatewayUrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="the gateway's base URL [default: $LLM_GATEWAY_URL, else the running `up`]",
        show_default=False,
    ),
]
AdminKeyOption = Annotated[
    str | None,
    typer.Option(
        "--admin-key",
        help="the admin key [default: $LLM_GATEWAY_ADMIN_KEY, else the running `up`'s]",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="print the gateway's JSON answer instead of a table")
]
