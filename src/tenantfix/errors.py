"""Exit codes and the one exception type the CLI turns into a clean message."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1  # check found something / apply --dry-run would change files
    USAGE = 2  # bad flags, or configuration we cannot read
    REFUSED = 3  # a precondition failed (dirty tree, existing branch, ...); nothing changed
    VERIFY_FAILED = 4  # the real migration run failed; nothing committed
    REMOTE = 5  # push or forge (PR) error; the local branch is kept
    INTERRUPTED = 130


class TenantfixError(Exception):
    """An expected failure with a message for the user and the exit code it maps to."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class SettingsError(TenantfixError):
    """The settings cannot be found, parsed or statically resolved."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message, exit_code)
