"""Walk directory trees and report AI artifacts recognised by content.

How the walk stays safe and bounded:
- Symlinks are never followed (only a root given on the command line is resolved, like
  `find -H`). The file type comes from the directory entry (d_type, else lstat), so FIFOs,
  sockets and device nodes are counted as skipped and never opened. Regular files are opened
  O_NOFOLLOW|O_NONBLOCK|O_NOCTTY, so a FIFO swapped in after the type check cannot block the
  scan (its read fails with ESPIPE, counted as `changed-type`) nor a terminal become the scan's.
  A file whose header fills HEADER_BYTES, and every file reported, is re-checked with fstat: a
  device node swapped in is never reported and never read beyond one header (a shorter file's
  type is not re-checked: a swap needs a node on the same filesystem, and with the kernel's
  protected_hardlinks an unprivileged user can only link one they own or may read and write).
  Each directory is opened O_NOFOLLOW once and its files are opened by name under that fd: a
  directory swapped for a symlink is refused.
- Each file costs one open, one read of at most HEADER_BYTES and one close; a read shorter than
  that is the whole file, so only longer files (and reported ones) cost an fstat too. No
  detector is asked about an empty file; detectors may
  read more through FileContext, capped at READ_BUDGET. Python threads cannot be timed out,
  so detectors are bounded by construction (capped reads, capped loops); a detector that
  raises or exceeds its budget becomes a counted error.
- A damaged file is input, not a bug: a detector that recognises its format in a file it then
  cannot parse (a truncated SQLite database) raises `DamagedFile`, and the file is listed as
  an artifact (category `damaged`, or what the detector still recognised, with
  `details.damage`) plus an error `damaged:<detector>`. Any other exception from a detector
  is a bug (`detector:<detector>`, see `ScanResult.faults`).
- Speed: which detectors may apply to a file is a table lookup on its first byte and on
  whether its header looks like text (computed once per file); detectors that declare a gate
  are asked only when it holds, the gates of one table cell tested together, with only the
  openings that can start with its byte (see FileDetector, Gate, first_bytes.py); a footer
  format is asked about a longer file only when its last bytes, one small read, end with the
  footer. A large tree read from the page cache is walked and scanned by forked worker
  processes, each taking whole subtrees (pool.py); a cold one by threads with readahead.
- Cold cache: once a header comes from the disk rather than the page cache, the walk lists
  directories up to LOOKAHEAD_FILES files ahead of detection and a readahead helper process
  queues their header reads (sanitize/readahead.py), so the disk serves many at once.
- Memory: directories waiting to be walked sit on a LIFO stack (depth-first keeps it small),
  one directory's entries at a time per worker; results are streamed to `on_artifact` and the
  error list is capped. Nothing holds every path of the tree.
- By default the walk stays on the filesystem of each root (`one_filesystem`), which keeps
  /proc, /sys and other mounts out of a scan of `/`.

Directory units: when a directory detector claims a directory (a Chroma persist dir, an HF
`models--*` repo, a TF SavedModel, ...), it is reported once with `unit: "directory"` and the
total size of the regular files below it. The files inside are counted in `stats` (files seen,
`files_in_units`) but are not opened and not reported as separate artifacts: the unit is what
an operator must deal with, and listing its blobs would bury other findings.

AI applications' data directories: every directory is also shown to the application recognisers
(detect/app_data.py). A recognised one passes its layout down the walk; below it, a documented
directory (`uploads/`) is a unit and a documented file (`history`, a manifest-named blob) that no
content detector recognised is reported by the layout (see detect/app_layout.py).

The parts: `scanner` (Scanner: roots, assembly, the run), `walk` (the directory stack and its
worker threads, directory units), `files` (one file: open, header, detectors), `pool` (forked
worker processes for large trees), `collect` (where findings go) and `model` (what a scan
reports).
"""

from sanitize.scan.files import HeaderReader
from sanitize.scan.model import Artifact, ScanError, ScanResult, ScanStats
from sanitize.scan.scanner import Scanner, scan

__all__ = ["Artifact", "HeaderReader", "ScanError", "ScanResult", "ScanStats", "Scanner", "scan"]
