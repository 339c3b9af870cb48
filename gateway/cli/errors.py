"""What the command line fails with: one line on stderr and an exit code a script can test."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    REFUSED = 1  # the gateway answered with an error (invalid request, conflict, its own fault)
    USAGE = 2  # the command line itself is wrong (click's own code for this)
    NO_GATEWAY = 3  # none found, or it did not answer
    AUTH = 4  # 401 or 403: no admin key, or the wrong one
    NOT_FOUND = 5


class CliError(Exception):
    """A failure the user can act on; ``main`` prints it as one line, without a traceback."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
