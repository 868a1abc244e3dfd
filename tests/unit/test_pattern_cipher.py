"""The random pattern's cipher is part of the record: journalled with its key, in the result and
the certificate; a journal written before it was recorded resumes as AES-256-CTR."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sanitize.certify.document import build_document
from sanitize.erase import EraseOptions, ExecutionContext, Planning, build_plan, new_result, run_plan
from sanitize.erase.buffers import CIPHER, LEGACY_CIPHER, AlignedBuffer, PatternSource
from sanitize.erase.journal import Journal
from sanitize.erase.overwrite.readback import VERIFY_CHUNK, remaining_chunks
from sanitize.erase.plan import Plan
from sanitize.erase.planning import resume_plan
from sanitize.inventory.model import DeviceTree
from sanitize.methods import all_methods
from sanitize.state import StateDir
from tests.support.devices import make_device
from tests.support.fake_host import FakeHost

SIZE = 12 << 20


def interrupted_random_erase(tmp_path: Path) -> tuple[FakeHost, Planning, Plan, StateDir, Path]:
    """A random-pattern erase of a file, stopped before its first chunk: its journal is kept."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"PRIVILEGED memo " * (SIZE // 16))
    host = FakeHost()
    planning = Planning(host, DeviceTree((make_device(str(disk), size_bytes=SIZE),)), all_methods())
    plan = build_plan(planning, str(disk), "overwrite", EraseOptions("random", 1, "full"))
    state = StateDir(str(tmp_path / "state"))
    stop = threading.Event()
    stop.set()
    first = run_plan(plan, ExecutionContext(host, state, new_result(plan, host), stop=stop), all_methods())
    assert first.status == "interrupted"
    return host, planning, plan, state, disk


def test_a_new_erase_records_its_cipher_in_the_journal_the_result_and_the_certificate(tmp_path: Path) -> None:
    host, planning, plan, state, disk = interrupted_random_erase(tmp_path)
    journal = Journal.find(state, plan.device).data
    assert CIPHER == "AES-128-CTR-MIB"
    assert journal["cipher"] == CIPHER and len(bytes.fromhex(journal["key"])) == 16

    again = build_plan(planning, str(disk), "overwrite", EraseOptions("random", 1, "full"))
    result = run_plan(again, ExecutionContext(host, state, new_result(again, host), resume=True), all_methods())

    assert result.status == "verified" and result.verification.bytes_checked == SIZE
    assert result.pattern_cipher == CIPHER and result.to_dict()["pattern_cipher"] == CIPHER
    details = build_document(result.to_dict())["sanitization"]["method_details"]
    assert details["pattern_cipher"] == CIPHER
    assert "pattern random (AES-128-CTR-MIB keystream, a new random key per pass)" in details["description"]
    assert "AES-128-CTR-MIB keystream" in again.steps_with("write")[0].description


def reference_keystream(key: bytes, offset: int, length: int) -> bytes:
    """AES-128-CTR-MIB by its definition: block i of the device is AES(key, nonce || counter), the
    nonce the 96-bit index of its MiB, the counter 2 + its 16-byte block within that MiB."""
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    first = offset - offset % 16
    blocks = b"".join(
        (at >> 20).to_bytes(12, "big") + (2 + (at % (1 << 20)) // 16).to_bytes(4, "big")
        for at in range(first, offset + length, 16)
    )
    return ecb.update(blocks)[offset - first : offset - first + length]


def test_the_keystream_is_aes_counter_mode_with_a_nonce_per_mib() -> None:
    """The pattern is exactly the documented counter mode at any offset: from a MiB's start, inside
    one (a sample verification's reads) and across MiB boundaries, so what was written from one
    offset is what verification regenerates from another."""
    key = os.urandom(16)
    source = PatternSource("random", key, 4 << 20)
    whole, part = AlignedBuffer(3 << 20), AlignedBuffer(3 << 20)
    try:
        source.fill(whole, 0, 3 << 20)
        assert bytes(whole.view[: 3 << 20]) == reference_keystream(key, 0, 3 << 20)
        for offset in (16, 4096, (1 << 20) - 16, (1 << 20) + 512, 1234560):
            length = (3 << 20) - offset
            source.fill(part, offset, length)
            assert bytes(part.view[:length]) == bytes(whole.view[offset : 3 << 20]), offset
        read = AlignedBuffer(1 << 20)
        try:  # verification: the read bytes XOR the stream are zeros, from any starting offset
            read.view[: 1 << 20] = whole.view[(1 << 20) + 4096 : (2 << 20) + 4096]
            source.stream((1 << 20) + 4096).unmask(read, 0, part, 1 << 20)
            assert bytes(part.view[: 1 << 20]) == bytes(1 << 20)
        finally:
            read.close()
    finally:
        whole.close()
        part.close()


def test_a_journal_naming_aes_128_ctr_resumes_and_verifies_that_keystream(tmp_path: Path) -> None:
    """The previous release's pattern: one 128-bit counter from the device's start."""
    host, planning, plan, state, disk = interrupted_random_erase(tmp_path)
    journal = Journal.find(state, plan.device)
    key = os.urandom(16)
    disk.write_bytes(Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update(bytes(SIZE)))
    journal.update(phase="verify", offset=0, key=key.hex(), cipher="AES-128-CTR", bytes_written=SIZE)

    again = build_plan(planning, str(disk), "overwrite", EraseOptions("random", 1, "full"))
    result = run_plan(again, ExecutionContext(host, state, new_result(again, host), resume=True), all_methods())

    assert result.status == "verified", result.to_dict()
    assert result.verification.mismatches == 0 and result.pattern_cipher == "AES-128-CTR"


def test_a_journal_without_a_cipher_resumes_and_verifies_aes_256_ctr(tmp_path: Path) -> None:
    """Written before the cipher was recorded: its 32-byte key is AES-256-CTR's, and verification
    must regenerate that keystream (today's cipher would find every sector mismatched)."""
    host, planning, plan, state, disk = interrupted_random_erase(tmp_path)
    journal = Journal.find(state, plan.device)
    key = os.urandom(32)
    encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    disk.write_bytes(encryptor.update(bytes(SIZE)))  # what the old release wrote
    journal.data.pop("cipher")
    journal.update(phase="verify", offset=0, key=key.hex(), bytes_written=SIZE)  # saved as the old release did
    assert "cipher" not in Journal.find(state, plan.device).data

    again = build_plan(planning, str(disk), "overwrite", EraseOptions("random", 1, "full"))
    result = run_plan(again, ExecutionContext(host, state, new_result(again, host), resume=True), all_methods())

    assert result.status == "verified", result.to_dict()
    assert result.verification.mismatches == 0 and result.verification.bytes_checked == SIZE
    assert result.pattern_cipher == LEGACY_CIPHER


def test_the_resumed_plan_names_the_journalled_cipher(tmp_path: Path) -> None:
    """A dry run of --resume says what the pass will really write: the old journal's keystream
    for the interrupted pass, today's for any pass after it, and which one verification uses."""
    _, planning, plan, state, disk = interrupted_random_erase(tmp_path)
    journal = Journal.find(state, plan.device)
    assert resume_plan(planning, str(disk), journal.data).steps == plan.steps  # today's cipher: as planned

    legacy = {k: v for k, v in journal.data.items() if k != "cipher"}
    legacy["options"] = {**legacy["options"], "passes": 2}
    legacy.update(key=os.urandom(32).hex(), phase="write", offset=4 << 20)
    resumed = resume_plan(planning, str(disk), legacy)
    first, second = (s.description for s in resumed.steps_with("write"))
    assert "AES-256-CTR keystream (the journalled key)" in first and CIPHER not in first
    assert f"{CIPHER} keystream (new random key per pass)" in second
    assert "pass 1 continues the interrupted run's journalled AES-256-CTR keystream" in resumed.notes

    legacy.update(phase="verify", offset=0)
    resumed = resume_plan(planning, str(disk), legacy)
    assert all(CIPHER in s.description for s in resumed.steps_with("write"))
    assert "verification regenerates the interrupted run's journalled AES-256-CTR keystream" in resumed.notes


def test_a_legacy_journal_still_finds_a_mismatch(tmp_path: Path) -> None:
    """The same resume with one corrupted sector fails: the comparison is real."""
    host, planning, plan, state, disk = interrupted_random_erase(tmp_path)
    journal = Journal.find(state, plan.device)
    key = os.urandom(32)
    data = bytearray(Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update(bytes(SIZE)))
    data[(5 << 20) + 3] ^= 1
    disk.write_bytes(bytes(data))
    journal.data.pop("cipher")
    journal.update(phase="verify", offset=0, key=key.hex(), bytes_written=SIZE)

    again = build_plan(planning, str(disk), "overwrite", EraseOptions("random", 1, "full"))
    result = run_plan(again, ExecutionContext(host, state, new_result(again, host), resume=True), all_methods())

    assert result.status == "failed"
    assert result.verification.mismatches == 1
    assert result.verification.details["first_mismatch_offsets"] == [5 << 20]


def test_a_resumed_verification_skips_exactly_the_bytes_compared_whatever_the_read_size() -> None:
    """The journal counts compared bytes (a prefix of the ranges): an interrupted run that read
    8 MiB at a time resumes at the same byte with today's reads."""
    ranges = [(0, 20 << 20), (100 << 20, 4096), (200 << 20, 3 << 20)]
    assert remaining_chunks(ranges, 0)[:2] == [(0, VERIFY_CHUNK), (VERIFY_CHUNK, VERIFY_CHUNK)]
    rest = remaining_chunks(ranges, 16 << 20)  # two 8 MiB chunks compared before
    assert rest[0] == (16 << 20, 4 << 20) and rest[1] == (100 << 20, 4096)
    assert sum(n for _, n in rest) == (4 << 20) + 4096 + (3 << 20)
    assert remaining_chunks(ranges, (20 << 20) + 4096) == [(200 << 20, 3 << 20)]
    assert remaining_chunks(ranges, (23 << 20) + 4096) == []


def test_chunk_buffers_start_on_a_huge_page_and_close() -> None:
    big, small = AlignedBuffer(VERIFY_CHUNK), AlignedBuffer(4096)
    assert big.address % (2 << 20) == 0 and small.address % 4096 == 0
    big.fill_byte(0xA5)
    assert bytes(big.view[VERIFY_CHUNK - 1 : VERIFY_CHUNK]) == b"\xa5"
    for buf in (big, small):
        buf.close()
        assert buf._map.closed
