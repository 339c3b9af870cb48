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
