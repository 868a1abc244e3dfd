"""NIST SP 800-88 Purge: device capabilities, the planner, firmware sanitize, TCG PSID revert and LUKS
crypto-erase.

`install(registry)` adds these methods to an erase `MethodRegistry` and makes the planner
its `--method auto` chooser; nothing happens on import.
"""

from __future__ import annotations

from sanitize.erase.method import MethodRegistry
from sanitize.purge.methods import ata, luks, nvme, scsi, tcg
from sanitize.purge.planner import auto_choose


def install(registry: MethodRegistry) -> MethodRegistry:
    for method in (*nvme.methods(), *ata.methods(), *scsi.methods(), luks.LuksCryptoErase(), tcg.TcgPsidRevert()):
        registry.register(method)
    registry.chooser = auto_choose
    return registry
