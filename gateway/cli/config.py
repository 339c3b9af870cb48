"""``llm-gateway config``: the configuration reference, and a check of a config file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.config_docs import configmap, reference
from gateway.cli.options import ConfigOption, settings_from

config_app = typer.Typer(help="The settings: their reference, and a check of a config file.")


@config_app.command("docs")
def docs() -> None:
    """Print the configuration reference (Markdown), generated from the settings object."""
    typer.echo(reference(), nl=False)


@config_app.command("check")
def check(config: ConfigOption = None) -> None:
    """Load the settings as a gateway or worker would; say what is wrong, or what it serves."""
    settings = settings_from(config)
    enabled = [name for name, p in settings.providers.items() if p.enabled]
    typer.echo(
        f"ok: {len(settings.providers)} providers ({', '.join(enabled) or 'none'} enabled), "
        f"{len(settings.models)} models ({len(settings.enabled_models())} available)"
    )


@config_app.command("configmap")
def configmap_command(
    config: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="the YAML config to embed")
    ] = Path("deploy/config.example.yaml"),
    namespace: Annotated[str, typer.Option(help="Kubernetes namespace")] = "llm-gateway",
) -> None:
    """Print the Kubernetes ConfigMap that mounts ``config`` in every pod (checked so)."""
    settings_from(config)  # a ConfigMap of a config the pods would refuse helps nobody
    typer.echo(configmap(config.read_text(), namespace), nl=False)
