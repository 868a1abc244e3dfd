"""Loop devices over image files: attach, find by backing file, detach cleanly.

Used by `sanitize lab` to build its throw-away server. Detaching always removes the
partitions first: partitions added with BLKPG (`partx`) survive LOOP_CLR_FD on this
kernel, and the next user of that loop number would inherit phantom partitions.
"""

from __future__ import annotations

import os
import time

from sanitize.errors import SanitizeError
from sanitize.hw.host import Host


def attach(host: Host, image: str, *, sector_size: int = 512, direct_io: bool = True) -> str:
    """Attach `image` to the first free loop device and return its path (/dev/loopN)."""
    argv = ["losetup", "-f", "--show", "--sector-size", str(sector_size)]
    if direct_io:
        result = host.run([*argv, "--direct-io=on", image], timeout=30)
        if result.ok:
            return result.stdout.strip()
    # Some backing filesystems (tmpfs) refuse O_DIRECT; buffered loop I/O is fine for a lab.
    return host.run([*argv, image], timeout=30, check=True).stdout.strip()


def loops_backed_by(host: Host, image: str) -> list[str]:
    """Every loop device whose backing file is `image` (found even if never recorded)."""
    if not os.path.exists(image):
        return []
    result = host.run(["losetup", "-j", image], timeout=30)
    return [line.split(":", 1)[0] for line in result.stdout.splitlines() if line.startswith("/dev/loop")]


def backing_file(host: Host, dev: str) -> str | None:
    return host.read_sys("class", "block", os.path.basename(dev), "loop", "backing_file") or None


def detach(host: Host, dev: str, *, attempts: int = 20) -> None:
    """Drop partitions, then detach; udev or a closing mount can hold the device briefly."""
    host.run(["partx", "-d", dev], timeout=30)
    last = None
    for _ in range(attempts):
        last = host.run(["losetup", "-d", dev], timeout=30)
        if last.ok or backing_file(host, dev) is None:
            return
        time.sleep(0.1)
    why = (last.stderr.strip() if last else "") or "busy"
    raise SanitizeError(f"{dev}: could not detach loop device: {why}")
