"""What the deployment tests share: the command line as an operator's container runs it, and
the names of every setting the processes read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main
from pydantic import AliasChoices, BaseModel
from typer.exceptions import TyperException

from gateway.cli.main import app
from shared.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
EXAMPLE_CONFIG = DEPLOY / "config.example.yaml"
# The image's entry point (deploy/Dockerfile: ENTRYPOINT ["llm-gateway"]).
ENTRYPOINT = "llm-gateway"
# Standard variables read by others than the settings: OpenTelemetry's SDK.
OTEL = re.compile(r"OTEL_[A-Z_]+")
COMMAND_ERRORS = (TyperException, LookupError)


def parse_command(args: list[str]) -> Any:
    """Parse ``llm-gateway <args>`` as the container would, without running it; raises one of
    ``COMMAND_ERRORS`` for an unknown command or option, or a bad value."""
    group = typer.main.get_command(app)
    context = group.make_context(ENTRYPOINT, [], resilient_parsing=True)
    return _parse(group, context, list(args))


def _parse(group: Any, context: Any, args: list[str]) -> Any:
    name, *rest = args
    command = group.get_command(context, name)
    if command is None:
        raise LookupError(f"no command {name!r}")
    if hasattr(command, "get_command"):  # a group of commands (keys, config...)
        inner = command.make_context(name, [], parent=context, resilient_parsing=True)
        return _parse(command, inner, rest)
    return command.make_context(name, rest, parent=context)


def setting_variables() -> set[str]:
    """Every environment variable the settings read (nested sections' keys included)."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c for c in alias.choices if isinstance(c, str) and c.isupper()}
            continue
        names.add(f"LLM_GATEWAY_{name}".upper())
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f"LLM_GATEWAY_{name}__{sub}".upper() for sub in annotation.model_fields}
    names.add("LLM_GATEWAY_CONFIG")  # the file itself (shared.settings.CONFIG_ENV_VAR)
    return names


def provider_key_variables() -> set[str]:
    """The key variables the example config names, its commented examples included."""
    return set(re.findall(r"api_key_env: ([A-Z0-9_]+)", EXAMPLE_CONFIG.read_text()))


def keys_the_example_uses() -> set[str]:
    settings = load_settings(EXAMPLE_CONFIG)
    return {p.api_key_env for p in settings.providers.values() if p.api_key_env}


def known_variable(name: str) -> bool:
    return (
        name in setting_variables()
        or name in provider_key_variables()
        or bool(OTEL.fullmatch(name))
    )
