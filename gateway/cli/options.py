"""Options several commands share, and the settings the config option names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from gateway.cli.errors import CliError, ExitCode
from shared.settings import Settings, load_settings

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


def settings_from(config: Path | None) -> Settings:
    """The settings, read once; a missing file or a bad value is one line, not a traceback."""
    try:
        return load_settings(config)
    except FileNotFoundError as error:
        raise CliError(str(error), ExitCode.USAGE) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = f"the settings are invalid: {where}: {first['msg']}"
        raise CliError(message, ExitCode.USAGE) from None
