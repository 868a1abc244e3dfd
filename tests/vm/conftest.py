"""The QEMU test lab (docs/test-lab.md).

`tests/vm/guest/` holds tests that run INSIDE the guest, against emulated NVMe, SATA and SCSI
disks; on the host they are never collected (they would find none of those disks). The host
side, `test_vm_lab.py`, boots the guest once per session and reports every guest test as its
own test.
"""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("SANITIZE_VM_GUEST") == "1" else ["guest"]
