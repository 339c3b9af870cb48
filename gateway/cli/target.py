"""Which gateway the operator commands talk to, and with which admin key.

In order: ``--url``, then ``LLM_GATEWAY_URL`` (or ``gateway_url`` in the config), then the
running ``llm-gateway up`` its state file names. Never a guessed address: a Redis or gateway
that merely happens to listen on a default port is how a command once reported an empty table
about somebody else's data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.cli.errors import CliError, ExitCode
from gateway.cli.state_file import read_state
from shared.settings import Settings


@dataclass(frozen=True)
class Target:
    url: str
    admin_key: str | None = field(repr=False)
    url_source: str  # for messages: where the URL came from
    key_source: str | None  # and the admin key, when there is one


def find_gateway(settings: Settings, *, url: str | None, admin_key: str | None) -> Target:
    key, key_source = _given_admin_key(settings, admin_key)
    if url:
        return Target(url.rstrip("/"), key, "--url", key_source)
    if settings.gateway_url:
        return Target(settings.gateway_url.rstrip("/"), key, "LLM_GATEWAY_URL", key_source)

    path = settings.up_state_file
    state = read_state(path)
    if state is None:
        raise CliError(
            "no gateway found: set LLM_GATEWAY_URL (or --url), or start `llm-gateway up` "
            f"(no state file at {path})",
            ExitCode.NO_GATEWAY,
        )
    if not state.running:
        why = (
            f"stopped at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(state.stopped_at))}"
            if state.stopped_at is not None
            else "is no longer running"
        )
        raise CliError(
            f"no gateway found: ignoring {path}: {state.describe()} {why}; "
            "start `llm-gateway up` or set LLM_GATEWAY_URL",
            ExitCode.NO_GATEWAY,
        )
    source = f"{state.describe()} (state file {path})"
    if key is None and state.admin_key is not None:
        key, key_source = state.admin_key, f"the state file {path}"
    return Target(state.url, key, source, key_source)


def _given_admin_key(settings: Settings, option: str | None) -> tuple[str | None, str | None]:
    if option:
        return option, "--admin-key"
    if settings.admin_key is not None:
        return settings.admin_key.get_secret_value(), "LLM_GATEWAY_ADMIN_KEY"
    return None, None
