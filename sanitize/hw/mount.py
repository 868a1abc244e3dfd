"""Mounting and unmounting filesystems (argv lists through `hw.commands`).

`read_only_options` gives the options that mount a filesystem without replaying its
journal, so looking at an unmounted volume never writes to it.
"""

from __future__ import annotations

import os

from sanitize.hw import commands

# Mount options that guarantee no write at all, journal replay included.
NO_REPLAY_OPTIONS = {
    "ext2": "ro,noload",
    "ext3": "ro,noload",
    "ext4": "ro,noload",
    "xfs": "ro,norecovery",
    "btrfs": "ro,rescue=nologreplay",
}


def read_only_options(fstype: str) -> str:
    return NO_REPLAY_OPTIONS.get(fstype, "ro")


def mount(dev: str, target: str, *, fstype: str | None = None, options: str | None = None) -> None:
    argv = ["mount"]
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", options]
    commands.run([*argv, dev, target], timeout=60, check=True)


def umount(target: str, *, lazy_fallback: bool = True) -> bool:
    """Unmount; returns False when only a lazy unmount succeeded (something still held it)."""
    if commands.run(["umount", target], timeout=60).ok:
        return True
    if lazy_fallback:
        commands.run(["umount", "-l", target], timeout=60, check=True)
        return False
    commands.run(["umount", target], timeout=60, check=True)
    return True


def mounted_targets(proc_mounts: str = "/proc/self/mountinfo") -> set[str]:
    """Every mountpoint currently mounted in our namespace (octal escapes decoded)."""
    targets = set()
    try:
        with open(proc_mounts, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 4:
                    targets.add(_unescape(fields[4]))
    except OSError:
        pass
    return targets


def is_mounted(target: str) -> bool:
    return os.path.realpath(target) in mounted_targets()


def _unescape(path: str) -> str:
    return path.encode("utf-8").decode("unicode_escape") if "\\" in path else path
