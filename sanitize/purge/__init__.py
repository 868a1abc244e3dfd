"""NIST SP 800-88 Purge: device capabilities, the planner, firmware sanitize, TCG PSID revert and LUKS
crypto-erase.

Importing this package registers the purge methods with `sanitize.erase` and installs the
planner as the `--method auto` chooser.
"""

from sanitize.erase.method import set_auto_chooser
from sanitize.purge.methods import ata, luks, nvme, scsi, tcg  # noqa: F401  (registration side effect)
from sanitize.purge.planner import auto_choose

set_auto_chooser(auto_choose)
