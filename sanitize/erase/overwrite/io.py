"""Device I/O that survives bad sectors: a failed range is retried in smaller pieces.

A sector that cannot be written (or read) is retried at ever smaller sizes down to one
logical sector; what still fails is recorded as an error range (offset, length, errno), so
the result lists exactly what was not erased and says `failed`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from sanitize.erase.buffers import AlignedBuffer
from sanitize.erase.result import ErrorRange
from sanitize.hw.host import OpenDevice

# Large sequential requests, but 4 MiB, not 8: on a RAM-backed device the kernel's copies out of
# (and into) the buffers are the device's own cost, cheaper while the few buffers stay in the
# CPU caches. Measured on one RAM-backed loop (docs/benchmarks.md): writing 1.33x dd against
# 1.24x with 8 MiB (machine 2.87 against 3.21 CPU-s per 6 GiB), 2 MiB 1.30x; verification
# 0.77x against 0.67x (3.15 against 3.71 CPU-s). Memory: IO_DEPTH + 1 write chunks per device
# writing (passes.py), VERIFY_SLOTS chunks verifying (readback.py). CHUNK also sizes the
# sample ranges (sampling.py), so a resumed sample verification finds the same ranges.
CHUNK = 4 << 20
# Writes are 2 MiB: with four RAM-backed devices written at once, their 12 buffers in turn fit
# the CPU caches better (0.55-0.60x four dd's against 0.48-0.50x with 4 MiB, whole process,
# alternating), and one device loses little (1.35x dd against 1.41x).
WRITE_CHUNK = 2 << 20
# errno values that mean "this range of the medium is bad", not "the program is wrong".
MEDIA_ERRORS = {errno.EIO, errno.ENODATA, errno.EREMOTEIO, errno.EILSEQ, errno.EBADMSG, errno.ENOLINK}


def error_text(op: str, exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "E?")
    return f"{op}: {name} ({os.strerror(exc.errno or 0)})"


def chunks(start: int, size: int) -> list[tuple[int, int]]:
    """The writes of a pass from byte `start` on."""
    return [(off, min(WRITE_CHUNK, size - off)) for off in range(start, size, WRITE_CHUNK)]


def _split(length: int, sector: int) -> int:
    # Retry a failed range in about 16 pieces, recursively, down to one sector, so a bad
    # sector in a 4 MiB chunk costs ~6 levels of retries instead of 8192 single writes.
    return max(sector, (length // 16) // sector * sector)


IoAll = Callable[[memoryview, int], None]


def _io_range(
    io: IoAll,
    op: str,
    buf: AlignedBuffer,
    boff: int,
    offset: int,
    length: int,
    sector: int,
    errors: list[ErrorRange],
) -> int:
    """Do `io` on buf[boff:boff+length] at `offset`, splitting around bad sectors.

    Returns the bytes done; what fails even one sector at a time goes to `errors`.
    """
    try:
        io(buf.view[boff : boff + length], offset)
        return length
    except OSError as exc:
        if exc.errno not in MEDIA_ERRORS:
            raise
        if length <= sector:
            errors.append(ErrorRange(offset, length, error_text(op, exc)))
            return 0
        step, done = _split(length, sector), 0
        for sub in range(0, length, step):
            n = min(step, length - sub)
            done += _io_range(io, op, buf, boff + sub, offset + sub, n, sector, errors)
        return done


def write_range(
    dev: OpenDevice, buf: AlignedBuffer, boff: int, offset: int, length: int, sector: int, errors: list[ErrorRange]
) -> int:
    """Write buf[boff:boff+length] at `offset`; returns bytes written, records bad ranges."""
    return _io_range(dev.write_at, "write", buf, boff, offset, length, sector, errors)


def read_range(
    dev: OpenDevice, buf: AlignedBuffer, boff: int, offset: int, length: int, sector: int, errors: list[ErrorRange]
) -> int:
    """Read into buf[boff:boff+length]; returns bytes read; unreadable ranges are recorded."""
    return _io_range(dev.read_into, "read", buf, boff, offset, length, sector, errors)
