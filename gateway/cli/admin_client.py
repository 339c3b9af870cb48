"""The operator commands' HTTP client of the gateway's admin API: every failure becomes one
CliError, with the gateway's own error code and message where it answered."""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gateway.cli.errors import CliError, ExitCode
from gateway.cli.options import settings_from
from gateway.cli.target import Target, find_gateway

# Short enough that a gateway that is gone is reported quickly; long enough for a usage report
# over many days on a loaded Redis.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")
# Where FastAPI says a field came from; the operator gave options, not a body or a query.
_LOCATIONS = {"body", "query", "path"}


class AdminClient:
    def __init__(self, target: Target) -> None:
        self.target = target
        headers = {"Authorization": f"Bearer {target.admin_key}"} if target.admin_key else {}
        try:
            self._http = httpx.Client(base_url=target.url, headers=headers, timeout=TIMEOUT)
        except httpx.InvalidURL as error:
            raise CliError(f"{target.url} ({target.url_source}) is not a URL: {error}") from None

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """The answer's JSON; a CliError for anything else."""
        where = f"the gateway at {self.target.url} ({self.target.url_source})"
        try:
            response = self._http.request(method, path, params=params, json=body)
        except httpx.ConnectError as error:
            reason = _ERRNO.sub("", str(error)).lower() or "connection failed"
            raise CliError(f"cannot reach {where}: {reason}", ExitCode.NO_GATEWAY) from None
        except httpx.TimeoutException:
            raise CliError(
                f"{where} did not answer within {TIMEOUT.read:g} s", ExitCode.NO_GATEWAY
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise CliError(f"talking to {where} failed: {error}", ExitCode.NO_GATEWAY) from None
        if response.is_error:
            raise self._refusal(response)
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"{where} answered {response.status_code} without JSON: is it an llm-gateway?",
                ExitCode.NO_GATEWAY,
            ) from None

    def _refusal(self, response: httpx.Response) -> CliError:
        status = response.status_code
        code, message, details = _error_of(response)
        text = f"{status} {code}: {message}"
        if details:
            text += f" ({details})"
        if status == 401:
            if self.target.admin_key is None:
                return CliError(
                    f"{text}; give the admin key with LLM_GATEWAY_ADMIN_KEY or --admin-key",
                    ExitCode.AUTH,
                )
            return CliError(
                f"{text}: {self.target.url} refused the admin key from {self.target.key_source}",
                ExitCode.AUTH,
            )
        if status == 403:
            return CliError(
                f"{text} (the key from {self.target.key_source} is not it)", ExitCode.AUTH
            )
        if status == 404:
            return CliError(text, ExitCode.NOT_FOUND)
        return CliError(text)


def _error_of(response: httpx.Response) -> tuple[str, str, str]:
    """The gateway's ``{"error": {"code", "message", "details"}}``, or what an answer that is
    not one has to say for itself."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        first_line = response.text.strip().splitlines()[0][:120] if response.text.strip() else ""
        return f"http_{response.status_code}", first_line or response.reason_phrase, ""
    return code, message, _details(error.get("details"))


def _details(details: Any) -> str:
    """Validation details as ``field: why; field: why`` on one line."""
    if not isinstance(details, list):
        return ""
    parts = []
    for item in details:
        if not isinstance(item, dict) or "msg" not in item:
            continue
        loc = [str(p) for p in item.get("loc", []) if p not in _LOCATIONS]
        parts.append(f"{'.'.join(loc)}: {item['msg']}" if loc else str(item["msg"]))
    return "; ".join(parts)


def open_admin(config: Path | None, url: str | None, admin_key: str | None) -> AdminClient:
    """The client of the gateway these options, the settings or a running ``up`` name."""
    settings = settings_from(config)
    return AdminClient(find_gateway(settings, url=url, admin_key=admin_key))
