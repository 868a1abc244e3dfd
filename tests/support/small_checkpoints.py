"""Run the `sanitize` CLI with overwrite checkpoints every N MiB instead of every GiB.

Interruption tests must catch an erase mid-pass on a device of a few hundred MiB, which the
production cadence (an fsync and a journal write per GiB) would never show.

Run: python -m tests.support.small_checkpoints MIB [sanitize arguments...]
"""

from __future__ import annotations

import sys

from sanitize.cli import main
from sanitize.erase import overwrite

if __name__ == "__main__":
    overwrite.CHECKPOINT_BYTES = int(sys.argv[1]) << 20
    sys.argv = ["sanitize", *sys.argv[2:]]
    main()
