"""Clear by overwrite (method.py), split by job: passes and checkpoints, bad-sector I/O,
the journal's cursor, read-back verification and NIST sampling."""

from sanitize.erase.overwrite.io import CHUNK
from sanitize.erase.overwrite.method import OverwriteMethod, flash_note
from sanitize.erase.overwrite.passes import Cadence
from sanitize.erase.overwrite.sampling import SUBSECTIONS, sample_ranges

__all__ = ["CHUNK", "SUBSECTIONS", "Cadence", "OverwriteMethod", "flash_note", "sample_ranges"]
