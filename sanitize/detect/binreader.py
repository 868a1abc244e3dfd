"""Bounds-checked little/big-endian reads over a byte buffer that a detector already holds.

Every read past the end raises `Truncated`, so a parser walking hostile lengths stops at the
buffer's end instead of trusting a count.
"""

from __future__ import annotations

import struct


class Truncated(Exception):
    """The structure runs past the bytes available."""


class Cursor:
    def __init__(self, data: bytes, offset: int = 0, *, big_endian: bool = False) -> None:
        self.data = data
        self.pos = offset
        self.order = ">" if big_endian else "<"

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Truncated(self.pos)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise Truncated(self.pos)
        self.pos += n

    def _unpack(self, fmt: str, size: int) -> int:
        return int(struct.unpack(self.order + fmt, self.take(size))[0])

    def u8(self) -> int:
        return self._unpack("B", 1)

    def u16(self) -> int:
        return self._unpack("H", 2)

    def u32(self) -> int:
        return self._unpack("I", 4)

    def i32(self) -> int:
        return self._unpack("i", 4)

    def u64(self) -> int:
        return self._unpack("Q", 8)

    def i64(self) -> int:
        return self._unpack("q", 8)

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Protobuf base-128 varint at `pos`: (value, next position). At most 10 bytes."""
    value = 0
    for i in range(10):
        if pos + i >= len(data):
            raise Truncated(pos)
        b = data[pos + i]
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return value, pos + i + 1
    raise Truncated(pos)  # over-long varint: not protobuf
