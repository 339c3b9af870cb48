"""The configuration reference, generated from the settings object itself (``llm-gateway config
docs``), so it cannot drift from what the processes accept; a test compares it with the file."""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from shared.config import (
    ModelCache,
    ModelConfig,
    OutputFilter,
    Price,
    ProviderConfig,
    ProviderLimits,
    ProviderTimeouts,
    RouteStep,
)
from shared.settings import CONFIG_ENV_VAR, Settings

REFERENCE_PATH = Path("deploy/configuration.md")
ENV_PREFIX = "LLM_GATEWAY_"
# Entries of the maps (providers.<name>, models.<name>...) and what nests in them.
ENTRIES: list[tuple[str, type[BaseModel]]] = [
    ("providers.<name>", ProviderConfig),
    ("providers.<name>.timeouts", ProviderTimeouts),
    ("providers.<name>.limits", ProviderLimits),
    ("models.<name>", ModelConfig),
    ("models.<name>.route[]", RouteStep),
    ("models.<name>.cache", ModelCache),
    ("output_filters[], models.<name>.output_filters[]", OutputFilter),
    ("prices.<provider>.<upstream model>[]", Price),
]
# Defaults that depend on the machine: said in words.
COMPUTED_DEFAULTS = {"up_state_file": "`$XDG_STATE_HOME/llm-gateway/up.json`"}

HEADER = f"""# Configuration reference

Generated from the settings object by `llm-gateway config docs`; do not edit by hand (a test
compares the two). Every process (gateway, workers, the command line) reads the same settings
once at start, in this order of precedence: constructor arguments, `{ENV_PREFIX}*` environment
variables (nested keys joined with `__`), the YAML file named by `${CONFIG_ENV_VAR}` or
`--config`, then the defaults below. Unknown keys are refused. Examples:
`deploy/config.example.yaml` (annotated) and `deploy/examples/` (development, test,
production). `llm-gateway config check` loads a file and says what is wrong with it.

OpenTelemetry is configured by its own standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_TRACES_EXPORTER`, `OTEL_SERVICE_NAME`, ...), not here: see deploy/README.md.
"""


def type_name(annotation: Any) -> str:
    """A field's type in words a YAML writer reads."""
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (types.UnionType, typing.Union):
        parts = [type_name(a) for a in get_args(annotation) if a is not type(None)]
        optional = type(None) in get_args(annotation)
        return " or ".join(parts) + (" (optional)" if optional else "")
    if origin is list:
        return f"list of {type_name(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map of {type_name(key)} to {type_name(value)}"
    if annotation is SecretStr:
        return "secret string"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"`{annotation.__name__}`"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(f"`{member.value}`" for member in annotation)
    return getattr(annotation, "__name__", str(annotation))


def default_of(name: str, field: FieldInfo) -> str:
    if name in COMPUTED_DEFAULTS:
        return COMPUTED_DEFAULTS[name]
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "see below"
        return f"`{value!r}`" if value not in ({}, []) else "empty"
    if field.default is PydanticUndefined:
        return "required"
    if field.default is None:
        return "unset"
    value = field.default.value if isinstance(field.default, enum.Enum) else field.default
    return f"`{value!r}`" if not isinstance(value, str) else f'`"{value}"`'


def environment_names(prefix: str, name: str, field: FieldInfo) -> str:
    """The variables that set a field: the aliases where it has them (pydantic-settings then
    reads those instead of prefix + name), ``__*`` for the keys of a nested section."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str) and c.isupper()]
    else:
        names = [f"{ENV_PREFIX}{prefix}{name}".upper()]
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        names = [f"{n}__*" for n in names]
    return ", ".join(f"`{n}`" for n in names)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(model: type[BaseModel], path: str, env_prefix: str | None) -> list[str]:
    """One row a field; ``env_prefix`` None for entries of maps (set in the YAML file)."""
    head = "| key | type | default | environment | meaning |"
    lines = [head, "| --- | --- | --- | --- | --- |"]
    if env_prefix is None:
        lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"`{path}{name}`"
        meaning = cell(field.description or "")
        row = [key, cell(type_name(field.annotation)), default_of(name, field)]
        if env_prefix is not None:
            row.append(environment_names(env_prefix, name, field))
        lines.append("| " + " | ".join([*row, meaning]) + " |")
    return lines


def reference() -> str:
    """The whole reference, in Markdown."""
    out = [HEADER, "## Top-level settings", ""]
    out += table(Settings, "", "")
    nested = [
        (name, field.annotation)
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    ]
    for name, model in nested:
        assert isinstance(model, type)
        out += ["", f"## `{name}`", "", (model.__doc__ or "").strip(), ""]
        out += table(model, f"{name}.", f"{name}__")
    out += ["", "## Entries of the maps (in the YAML file)"]
    for path, model in ENTRIES:
        out += ["", f"### `{path}`", "", (model.__doc__ or "").strip(), ""]
        out += table(model, "", None)
    return "\n".join(out) + "\n"


CONFIGMAP_HEAD = """\
# The gateway's YAML config, mounted at /etc/llm-gateway/config.yaml in every pod: exactly
# deploy/config.example.yaml, generated by `llm-gateway config configmap` (a test compares
# them). Production differences are LLM_GATEWAY_* variables in the Deployments. The config is
# read once at start, so after changing it restart the pods:
#   kubectl -n llm-gateway rollout restart \\
#     deployment/gateway deployment/worker deployment/batch-worker
apiVersion: v1
kind: ConfigMap
metadata:
  name: llm-gateway-config
  namespace: {namespace}
  labels:
    app.kubernetes.io/name: llm-gateway
    app.kubernetes.io/part-of: llm-gateway
data:
  config.yaml: |
"""


def configmap(config_text: str, namespace: str = "llm-gateway") -> str:
    """The ConfigMap manifest holding ``config_text`` as its ``config.yaml``."""
    body = "".join(
        f"    {line}" if line.strip() else "\n" for line in config_text.splitlines(keepends=True)
    )
    return CONFIGMAP_HEAD.format(namespace=namespace) + body
