"""The state file of ``llm-gateway up``: where it runs and the keys it handed out, so that the
command line finds that gateway with nothing set.

It holds secrets (the admin key), so it is written 0600 in a 0700 directory, atomically: a
reader never sees half a file. ``up`` removes its file when it stops; the copy inside a
``--data-dir`` is kept, marked stopped, because the next ``up`` there reuses its keys.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.cli.errors import CliError, ExitCode

DATA_DIR_STATE = "up.json"

RedisKind = Literal["redis-server", "fakeredis", "external"]


class RedisInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(repr=False)  # a given REDIS_URL may carry a password
    kind: RedisKind
    persistent: bool


class UpState(BaseModel):
    """One run of ``up``; ``stopped_at`` is set once it has stopped."""

    model_config = ConfigDict(extra="ignore")

    version: Literal[1] = 1
    pid: int
    url: str
    admin_key: str | None = Field(None, repr=False)
    dev_key: str | None = Field(None, repr=False)
    # Signs stream tokens; kept so that a restart in the same data dir honours them.
    stream_token_secret: str | None = Field(None, repr=False)
    redis: RedisInfo
    data_dir: str | None = None
    flower_url: str | None = None
    started_at: float
    stopped_at: float | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None and pid_alive(self.pid)

    def describe(self) -> str:
        return f"llm-gateway up (pid {self.pid}) at {self.url}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def write_state(path: Path, state: UpState) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 before a byte is written: the keys are never readable by others.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(state.model_dump_json(indent=2))
        out.write("\n")
    os.replace(temporary, path)


def read_state(path: Path) -> UpState | None:
    """The state the file holds; None when there is none. A file that does not parse is an
    error of its own, never taken for "no gateway"."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        message = f"cannot read the state file {path}: {error.strerror}"
        raise CliError(message, ExitCode.NO_GATEWAY) from None
    try:
        return UpState.model_validate_json(raw)
    except ValidationError:
        raise CliError(
            f"the state file {path} is not one `llm-gateway up` wrote; remove it",
            ExitCode.NO_GATEWAY,
        ) from None


def mark_stopped(path: Path, state: UpState) -> None:
    write_state(path, state.model_copy(update={"stopped_at": time.time()}))


def remove_if_ours(path: Path, pid: int) -> bool:
    """Remove the file unless another ``up`` has written its own there since."""
    with contextlib.suppress(CliError):
        current = read_state(path)
        if current is not None and current.pid == pid:
            path.unlink(missing_ok=True)
            return True
    return False
