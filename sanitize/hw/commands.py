"""Running external programs: argv lists only, LC_ALL=C, every run logged.

Output of the programs we run (nvme, hdparm, sg_*, cryptsetup, blkid, mount) describes
devices, never file contents, so it may be logged at debug level; we still log only argv,
return code and timing by default.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sanitize.errors import SanitizeError, ToolMissing

log = logging.getLogger("sanitize.hw")

# Debian package that provides each program we may run, for one-line "install X" messages.
PACKAGES: dict[str, str] = {
    "nvme": "nvme-cli",
    "hdparm": "hdparm",
    "sg_inq": "sg3-utils",
    "sg_opcodes": "sg3-utils",
    "sg_readcap": "sg3-utils",
    "sg_sanitize": "sg3-utils",
    "sg_requests": "sg3-utils",
    "sg_vpd": "sg3-utils",
    "cryptsetup": "cryptsetup-bin",
    "sedutil-cli": "sedutil",
    "blkid": "util-linux",
    "lsblk": "util-linux",
    "losetup": "mount",
    "mount": "mount",
    "umount": "mount",
    "partx": "util-linux",
    "sfdisk": "fdisk",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.xfs": "xfsprogs",
    "mkfs.btrfs": "btrfs-progs",
    "debugfs": "e2fsprogs",
    "xfs_db": "xfsprogs",
    "smartctl": "smartmontools",
    "truncate": "coreutils",
}


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def to_dict(self) -> dict[str, object]:
        # Only what a certificate needs: never stdout, which may be long.
        return {"argv": list(self.argv), "returncode": self.returncode, "seconds": round(self.seconds, 3)}


class CommandFailed(SanitizeError):
    def __init__(self, result: CommandResult) -> None:
        tail = (result.stderr or result.stdout).strip().splitlines()
        why = tail[-1] if tail else "no output"
        super().__init__(f"{result.argv[0]} exited {result.returncode}: {why}")
        self.result = result


@dataclass
class CommandLog:
    """Records every command of one operation so results can list exactly what ran."""

    records: list[CommandResult] = field(default_factory=list)

    def add(self, result: CommandResult) -> None:
        self.records.append(result)


Runner = Callable[..., CommandResult]
REDACTED = "<temporary-password>"


def which(program: str) -> str:
    path = shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        package = PACKAGES.get(program, program)
        raise ToolMissing(f"{program} is not installed", hint=f"apt-get install {package}")
    return path


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = 120,
    input: str | bytes | None = None,
    check: bool = False,
    log_to: CommandLog | None = None,
    secret: str | None = None,
    redacted_as: str = REDACTED,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    process_group: bool = False,
) -> CommandResult:
    """Run argv (never a shell string) with LC_ALL=C and return its result.

    `check=True` raises CommandFailed on a non-zero exit. Callers that sanitize must not
    treat a zero exit as success: they read the device's own status afterwards.
    An argument equal to `secret` (a temporary drive password, a PSID) is run as given but
    appears as `redacted_as` in the log and in the returned result, output included, which
    is what reports copy. `env` adds to (or overrides) the inherited environment.
    `process_group=True` runs the program in a session of its own and, on a timeout or an
    interruption, kills all of it: for tools that start others (mmdebstrap runs apt and dpkg).
    """
    if isinstance(argv, str):  # defensive: a string here would be a bug
        raise TypeError("argv must be a sequence of strings, not a string")
    argv = tuple(str(a) for a in argv)
    program = which(argv[0])
    full_env = {**os.environ, **(env or {}), "LC_ALL": "C", "LANG": "C"}
    started = time.monotonic()
    text_mode = not isinstance(input, bytes)
    with subprocess.Popen(
        (program, *argv[1:]),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=text_mode,
        env=full_env,
        cwd=cwd,
        start_new_session=process_group,
    ) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            _kill(proc, process_group)
            out, err = proc.communicate()
            err = _text(err) + f"\ntimed out after {timeout} s"
            rc = 124
        except BaseException:  # interrupted: leave nothing running behind us
            _kill(proc, process_group)
            proc.wait()
            raise
    stdout, stderr = _text(out), _text(err)
    shown = redacted(argv, secret, redacted_as)
    stdout, stderr = (scrub(stdout or "", secret, redacted_as), scrub(stderr or "", secret, redacted_as))
    result = CommandResult(shown, rc, stdout, stderr, time.monotonic() - started)
    log.debug("ran %s -> rc=%d in %.3fs", " ".join(shown), rc, result.seconds)
    if log_to is not None:
        log_to.add(result)
    if check and not result.ok:
        raise CommandFailed(result)
    return result


def redacted(argv: Sequence[str], secret: str | None, label: str = REDACTED) -> tuple[str, ...]:
    return tuple(label if secret is not None and a == secret else a for a in argv)


def scrub(text: str, secret: str | None, label: str = REDACTED) -> str:
    return text.replace(secret, label) if secret else text


def _kill(proc: subprocess.Popen[Any], group: bool) -> None:
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")
