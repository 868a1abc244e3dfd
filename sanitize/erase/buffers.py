"""Page-aligned I/O buffers and the pattern streams written into them.

O_DIRECT needs buffers aligned to the logical sector size; anonymous mmap gives page
alignment for free. The random pattern is an AES counter-mode keystream (encrypting a buffer of
zeros into another buffer), addressed by byte offset, so any range can be regenerated for
verification or resume from the key alone, and nothing else needs to be stored. New erases use
AES-128-CTR-MIB (Keystream: AES-128 counter mode with a nonce per MiB of the device, which OpenSSL
makes with its GCM code, its fastest AES on a CPU with vector AES); the pattern only has to be unpredictable, not
to keep a secret for years. The cipher is recorded with the key: a journal naming AES-128-CTR (one
128-bit counter from the device's start) continues that keystream, and one that names none is
AES-256-CTR, the pattern of the first releases.
"""

from __future__ import annotations

import ctypes
import mmap
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sanitize.erase.options import parse_pattern
from sanitize.hw.iomem import io_map

AES_BLOCK = 16
ZERO_STEP = 256 << 10
# The random pattern's keystream cipher -> its key length.
CIPHERS = {"AES-128-CTR-MIB": 16, "AES-128-CTR": 16, "AES-256-CTR": 32}
NONCE_PER_MIB = "AES-128-CTR-MIB"  # the one counted per MiB (Keystream); the others with one 128-bit counter
SEGMENT = 1 << 20  # its device bytes per nonce
CIPHER = NONCE_PER_MIB  # new erases
LEGACY_CIPHER = "AES-256-CTR"  # journals that name no cipher (written before the cipher was recorded)

_libc = ctypes.CDLL(None, use_errno=True)
_memcmp = _libc.memcmp
_memcmp.restype = ctypes.c_int
_memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]


class AlignedBuffer:
    """A page-aligned buffer of `size` bytes (plus slack that AES update_into requires).

    Never pass one buffer as both input and output of `update_into`: cryptography 51
    refuses overlapping buffers (`ValueError: data and buf must not overlap`), older
    releases accepted them. The keystream is always encrypted from a separate zero buffer.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._map, start = io_map(size)  # huge pages for a chunk-sized buffer (hw/iomem.py)
        self.view = memoryview(self._map)[start : start + size + mmap.PAGESIZE]
        self._anchor = ctypes.c_char.from_buffer(self._map, start)
        self.address = ctypes.addressof(self._anchor)
        self._closed = False

    def equals(self, other: AlignedBuffer, length: int, offset: int = 0, other_offset: int | None = None) -> bool:
        """self[offset:offset+length] == other[other_offset:...] (other_offset defaults to offset)."""
        # Python-level comparison of memoryviews runs at well under 1 GB/s, libc's
        # memcmp at tens of GB/s (and ctypes releases the GIL while it runs).
        theirs = offset if other_offset is None else other_offset
        if offset + length > self.size or theirs + length > other.size:
            raise ValueError("comparison beyond the end of a buffer")
        return int(_memcmp(self.address + offset, other.address + theirs, length)) == 0

    def fill_byte(self, value: int) -> None:
        ctypes.memset(self.address, value, self.size)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        del self._anchor
        try:
            self.view.release()
            self._map.close()
        except BufferError:
            # A slice of this buffer is still referenced, typically by the traceback of the
            # exception now propagating (the frame that was writing it). The memory is freed
            # with that slice by the garbage collector; closing must not replace the real error.
            pass


class PatternSource:
    """Produces the bytes a pass writes at any device offset (sector-aligned)."""

    def __init__(self, pattern: str, key: bytes | None, chunk: int, cipher: str = CIPHER) -> None:
        self.pattern = pattern
        self.byte = parse_pattern(pattern)
        self.key = key
        self.cipher = cipher if self.byte is None else None
        if self.byte is None and (cipher not in CIPHERS or key is None or len(key) != CIPHERS[cipher]):
            raise ValueError(f"the random pattern ({cipher}) needs a {CIPHERS.get(cipher, '?')}-byte key")
        # The keystream is AES-CTR of zeros, made STEP bytes at a time from one small zero
        # buffer that stays in the CPU cache (a chunk-sized one was read from memory for
        # every chunk, and cost its size in resident memory per device).
        self._zeros = bytes(min(chunk, ZERO_STEP))

    @staticmethod
    def new_key(cipher: str = CIPHER) -> bytes:
        return os.urandom(CIPHERS[cipher])

    def prepare(self, buf: AlignedBuffer) -> None:
        """One-time fill for fixed patterns (their buffers never change)."""
        if self.byte is not None:
            buf.fill_byte(self.byte)

    def fill(self, buf: AlignedBuffer, offset: int, length: int) -> None:
        """Write the pattern for device bytes [offset, offset+length) into buf[0:length].

        Used for writing and, into a second buffer, for verification: read-back is compared
        with the regenerated pattern (libc memcmp), so nothing is transformed in place."""
        stream = self.stream(offset)
        if stream is not None:
            stream.into(buf, length)

    def stream(self, offset: int) -> Keystream | None:
        """The random pattern from device byte `offset` on, piece after piece (None: a fixed pattern,
        whose buffers `prepare` filled once)."""
        if self.byte is not None:
            return None
        assert self.key is not None and self.cipher is not None
        return Keystream(self.key, self.cipher, offset, self._zeros)


class Keystream:
    """One keystream from a device offset on: each `into` or `unmask` continues where the last ended.

    AES-128-CTR-MIB counts with a 96-bit nonce per MiB of the device (its index) and a 32-bit block
    counter from 2 within it: the counter blocks of AES-GCM, so OpenSSL's GCM code makes it (the
    keystream is the ciphertext of zeros; the tag is never asked for). On a CPU with vector AES that
    code is OpenSSL's fastest AES (18.6 GB/s against 10.9 for its CTR, one core here); without it,
    GCM's hashing may make it a little slower than CTR. A stream starting inside a MiB discards the
    keystream before its offset (at most a MiB, for a sample verification's reads).
    """

    def __init__(self, key: bytes, cipher: str, offset: int, zeros: bytes) -> None:
        if offset % AES_BLOCK:
            raise ValueError("the keystream starts at a multiple of the AES block")
        self._aes = algorithms.AES(key)
        self._zeros = memoryview(zeros)
        self._segmented = cipher == NONCE_PER_MIB
        self._offset = offset
        self._left = 0  # bytes the current encryptor still covers (segmented streams)
        if self._segmented:
            self._enter(offset)
        else:
            counter = (offset // AES_BLOCK).to_bytes(16, "big")
            self._encryptor = Cipher(self._aes, modes.CTR(counter)).encryptor()

    def _enter(self, offset: int) -> None:
        """Start the encryptor of the MiB holding `offset`, discarding its keystream before it."""
        index, within = divmod(offset, SEGMENT)
        self._encryptor = Cipher(self._aes, modes.GCM(index.to_bytes(12, "big"))).encryptor()
        self._left = SEGMENT - within
        scratch = bytearray(len(self._zeros) + AES_BLOCK if within else 0)
        while within:
            n = min(within, len(self._zeros))
            self._encryptor.update_into(self._zeros[:n], scratch)
            within -= n

    def _apply(self, src: memoryview, dst: memoryview, length: int) -> None:
        """dst[0:length] = src[0:length] XOR the next `length` bytes of the stream."""
        if not self._segmented:
            self._encryptor.update_into(src[:length], dst[: length + AES_BLOCK - 1])
            return
        done = 0
        while done < length:
            if not self._left:
                self._enter(self._offset)
            n = min(length - done, self._left)
            self._encryptor.update_into(src[done : done + n], dst[done : done + n + AES_BLOCK - 1])
            done += n
            self._left -= n
            self._offset += n

    def unmask(self, src: AlignedBuffer, at: int, dst: AlignedBuffer, length: int) -> None:
        """dst[0:length] = src[at:at+length] XOR the next `length` bytes of the stream: all zeros
        exactly where src holds the pattern (verification: one pass over the read bytes, into a
        buffer that stays in the CPU cache, instead of a keystream and then a comparison)."""
        self._apply(src.view[at:], dst.view, length)

    def into(self, buf: AlignedBuffer, length: int) -> None:
        """The next `length` bytes of the stream into buf[0:length] (a multiple of the AES block,
        except at the stream's end)."""
        step = len(self._zeros)
        for at in range(0, length, step):
            n = min(step, length - at)
            self._apply(self._zeros, buf.view[at:], n)
