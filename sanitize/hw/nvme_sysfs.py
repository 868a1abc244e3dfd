"""Where an NVMe namespace's controller is, from sysfs."""

from __future__ import annotations

import re

from sanitize.hw.host import Host

_CTRL = re.compile(r"nvme\d+")


def controller_of_namespace(host: Host, name: str) -> str | None:
    """The controller character device of namespace `name` (`nvme0n1` -> `/dev/nvme0`).

    With native multipath the namespace's `device` link points at `nvme-subsysN`, not at a
    controller, so the subsystem's controllers are listed instead; without sysfs, the
    namespace's own name is the last resort.
    """
    parent = host.sys_realpath("class", "block", name, "device").rsplit("/", 1)[-1]
    if _CTRL.fullmatch(parent):
        return host.devnode(parent)
    if parent.startswith("nvme-subsys"):
        ctrls = [c for c in host.list_sys("class", "nvme-subsystem", parent) if _CTRL.fullmatch(c)]
        if ctrls:
            return host.devnode(ctrls[0])
    match = re.match(r"^nvme(\d+)n\d+", name)
    return host.devnode(f"nvme{match.group(1)}") if match else None
