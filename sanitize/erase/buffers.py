"""Page-aligned I/O buffers and the pattern streams written into them.

O_DIRECT needs buffers aligned to the logical sector size; anonymous mmap gives page
alignment for free. The random pattern is an AES-256-CTR keystream (encrypting zeros),
addressed by byte offset, so any range can be regenerated for verification or resume
from the 32-byte key alone, and nothing else needs to be stored.
"""

from __future__ import annotations

import ctypes
import mmap
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sanitize.erase.plan import parse_pattern

AES_BLOCK = 16

_libc = ctypes.CDLL(None, use_errno=True)
_memcmp = _libc.memcmp
_memcmp.restype = ctypes.c_int
_memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]


class AlignedBuffer:
    """A page-aligned buffer of `size` bytes (plus slack that AES update_into requires)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._map = mmap.mmap(-1, size + mmap.PAGESIZE)
        self.view = memoryview(self._map)
        self._anchor = ctypes.c_char.from_buffer(self._map)
        self.address = ctypes.addressof(self._anchor)

    def equals(self, other: AlignedBuffer, length: int, offset: int = 0) -> bool:
        # Python-level comparison of memoryviews runs at well under 1 GB/s, libc's
        # memcmp at tens of GB/s; verification must keep up with the disk.
        return _memcmp(self.address + offset, other.address + offset, length) == 0

    def fill_byte(self, value: int) -> None:
        ctypes.memset(self.address, value, self.size)

    def close(self) -> None:
        del self._anchor
        self.view.release()
        self._map.close()


class PatternSource:
    """Produces the bytes a pass writes at any device offset (sector-aligned)."""

    def __init__(self, pattern: str, key: bytes | None, chunk: int) -> None:
        self.pattern = pattern
        self.byte = parse_pattern(pattern)
        self.key = key
        if self.byte is None and (key is None or len(key) != 32):
            raise ValueError("the random pattern needs a 32-byte key")
        self._zeros = bytes(chunk)

    @property
    def is_random(self) -> bool:
        return self.byte is None

    @staticmethod
    def new_key() -> bytes:
        return os.urandom(32)

    def prepare(self, buf: AlignedBuffer) -> None:
        """One-time fill for fixed patterns (their buffers never change)."""
        if self.byte is not None:
            buf.fill_byte(self.byte)

    def unmask(self, buf: AlignedBuffer, offset: int, length: int) -> None:
        """Turn bytes read back from [offset, offset+length) into what `prepare` left in a
        reference buffer: for random, XOR with the keystream in place (OpenSSL's CTR works
        in place), giving zeros where the device returned what was written. This spares a
        second buffer per read in flight."""
        if self.byte is not None:
            return
        assert self.key is not None and offset % AES_BLOCK == 0
        counter = (offset // AES_BLOCK).to_bytes(16, "big")
        decryptor = Cipher(algorithms.AES(self.key), modes.CTR(counter)).decryptor()
        decryptor.update_into(buf.view[:length], buf.view[: length + AES_BLOCK - 1])

    def fill(self, buf: AlignedBuffer, offset: int, length: int) -> None:
        """Write the pattern for device bytes [offset, offset+length) into buf[0:length]."""
        if self.byte is not None:
            return
        assert self.key is not None and offset % AES_BLOCK == 0
        counter = (offset // AES_BLOCK).to_bytes(16, "big")
        encryptor = Cipher(algorithms.AES(self.key), modes.CTR(counter)).encryptor()
        encryptor.update_into(memoryview(self._zeros)[:length], buf.view[: length + AES_BLOCK - 1])
