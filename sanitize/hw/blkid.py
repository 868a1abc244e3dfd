"""What filesystem (or container) a device holds, from a low-level blkid probe."""

from __future__ import annotations

from sanitize.errors import BadInput, PermissionDenied
from sanitize.hw.host import Host


def probe_filesystem(host: Host, devpath: str) -> dict[str, str]:
    """`blkid -p` (reads superblocks, writes nothing), for when udev has no data.

    Only as root and only on an existing block device node: otherwise nothing is known.
    """
    if not host.is_root():
        return {}
    try:
        host.block_device_number(devpath)
    except (BadInput, PermissionDenied):
        return {}
    if not host.have("blkid"):
        return {}
    res = host.run(["blkid", "-p", "-o", "export", devpath], timeout=30)
    props: dict[str, str] = {}
    for line in res.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props
