"""Errors that end a command with a one-line message and a documented exit code.

Every exit code the tool can return is listed in `ExitCode` and in docs/exit-codes.md;
a test keeps the two in step.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL = 1  # a bug: unexpected exception (traceback only with --debug)
    USAGE = 2  # bad flags or arguments (click's own code)
    BAD_INPUT = 3  # no such device, not a block device, malformed file
    REFUSED = 4  # protected / in-use / read-only device, confirmation missing or wrong
    PERMISSION = 5  # needs root or access was denied
    UNSUPPORTED = 6  # the device or machine lacks the method, or a required tool is missing
    FAILED = 7  # sanitization or its verification failed
    INTERRUPTED = 8  # stopped part way; `--resume` can continue it
    NOT_VERIFIED = 9  # a certificate, signature or archive did not verify
    FOUND = 10  # scan/carve with --fail-on-found: artifacts were found


class SanitizeError(Exception):
    """Base class: the message is one line meant for the operator."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class BadInput(SanitizeError):
    exit_code = ExitCode.BAD_INPUT


class Refused(SanitizeError):
    exit_code = ExitCode.REFUSED


class PermissionDenied(SanitizeError):
    exit_code = ExitCode.PERMISSION


class Unsupported(SanitizeError):
    exit_code = ExitCode.UNSUPPORTED


class ToolMissing(Unsupported):
    """An external program is not installed; the message names its Debian package."""


class SanitizationFailed(SanitizeError):
    exit_code = ExitCode.FAILED


class VerificationError(SanitizeError):
    exit_code = ExitCode.NOT_VERIFIED
