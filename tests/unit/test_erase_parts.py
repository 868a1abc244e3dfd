"""Confirmation rules, sampling layout, result status and journal identity (no root)."""

from __future__ import annotations

import itertools
import math
import os
import threading

import pytest

from sanitize.erase.confirm import confirm_devices
from sanitize.erase.journal import Journal
from sanitize.erase.overwrite import CHUNK, sample_ranges
from sanitize.erase.pipeline import run_pipeline
from sanitize.erase.result import EraseResult, ErrorRange, Verification, merge_ranges
from sanitize.errors import BadInput, Refused
from sanitize.report.erase import run_document
from sanitize.state import StateDir
from tests.unit.test_erase_plan import make_device

SDA = make_device("/dev/sda", serial="S1")
SDB = make_device("/dev/sdb", serial=None, name="sdb")


def never(_: str) -> str:
    raise AssertionError("must not prompt")


def test_confirm_matches_serial_or_kernel_name() -> None:
    confirm_devices([SDA], ["S1"], yes=False, interactive=False, prompt=never)
    confirm_devices([SDB], ["sdb"], yes=True, interactive=False, prompt=never)
    confirm_devices([SDA, SDB], ["S1,sdb"], yes=False, interactive=False, prompt=never)
    confirm_devices([SDA, SDB], ["S1", "sdb"], yes=False, interactive=False, prompt=never)


@pytest.mark.parametrize(
    "values,match",
    [(["sda"], "does not match its serial"), (["sdb,S1"], "does not match"), (["S1"], "need 2")],
)
def test_confirm_mismatch_refused_without_revealing(values: list[str], match: str) -> None:
    devices = [SDA] if values == ["sda"] else [SDA, SDB]
    with pytest.raises(Refused, match=match) as info:
        confirm_devices(devices, values, yes=False, interactive=False, prompt=never)
    assert "S1" not in info.value.message.replace("S1,", "")


def test_yes_alone_and_no_tty_refused() -> None:
    with pytest.raises(Refused, match="--yes alone"):
        confirm_devices([SDA], [], yes=True, interactive=True, prompt=never)
    with pytest.raises(Refused, match="confirmation needed"):
        confirm_devices([SDA], [], yes=False, interactive=False, prompt=never)


def test_interactive_prompt() -> None:
    confirm_devices([SDA], [], yes=False, interactive=True, prompt=lambda text: " S1 ")
    with pytest.raises(Refused, match="nothing was written"):
        confirm_devices([SDA], [], yes=False, interactive=True, prompt=lambda text: "sda")


@pytest.mark.parametrize("size,sector", [(64 << 20, 512), (64 << 20, 4096), (10 << 30, 4096), (1 << 40, 512)])
def test_sample_layout_meets_nist_sampling(size: int, sector: int) -> None:
    ranges = sample_ranges(size, sector, 0.10, seed=7)
    covered = sum(n for _, n in ranges)
    assert covered >= 0.10 * size
    assert ranges[0][0] == 0 and ranges[-1][0] + ranges[-1][1] == size
    assert all(off % sector == 0 and n % sector == 0 and n > 0 for off, n in ranges)
    assert all(a[0] + a[1] < b[0] for a, b in itertools.pairwise(ranges))
    count = max(1000, math.ceil(0.10 * (size // sector) / (2 * (CHUNK // sector))))
    for i in (0, count // 2, count - 1):  # at least 2 locations in each subsection
        lo, hi = i * (size // sector) // count * sector, (i + 1) * (size // sector) // count * sector
        inside = sum(min(hi, o + n) - max(lo, o) for o, n in ranges if o < hi and o + n > lo)
        assert inside >= 0.10 * (hi - lo)
    assert sample_ranges(size, sector, 0.10, seed=8) != ranges  # locations are pseudorandom


def test_tiny_device_is_read_whole() -> None:
    assert sample_ranges(1 << 20, 512, 0.10, seed=1) == [(0, 1 << 20)]


def test_status_from_evidence() -> None:
    def result(**kw: object) -> EraseResult:
        r = EraseResult(device={"path": "/dev/x"}, method="overwrite", nist_level="clear")
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    assert result(verification=Verification("full", 1.0, 1, "passed")).finish().status == "verified"
    assert result(verification=Verification("full", 1.0, 1, "failed")).finish().status == "failed"
    bad = [ErrorRange(0, 512, "write: EIO")]
    assert result(errors=bad, verification=Verification("full", 1, 1, "passed")).finish().status == "failed"
    assert result().finish().status == "unverified"
    assert result(errors=bad).finish(interrupted=True).status == "interrupted"
    doc = run_document([result().finish(), result().finish()])
    assert doc["schema"] == "sanitize.erase-run/1" and len(doc["results"]) == 2
    assert run_document([result().finish()])["schema"] == "sanitize.erase/1"


def test_merge_ranges() -> None:
    merged = merge_ranges([ErrorRange(1024, 512, "e"), ErrorRange(512, 512, "e"), ErrorRange(4096, 512, "e")])
    assert [(r.offset, r.length) for r in merged] == [(512, 1024), (4096, 512)]


def test_journal_refuses_another_device(tmp_path: os.PathLike[str]) -> None:
    state = StateDir(os.path.join(str(tmp_path), "state"))
    journal = Journal.create(state, "op1", SDA, {"phase": "write", "pass": 1, "offset": 0})
    assert oct(os.stat(journal.path).st_mode & 0o777) == "0o600"
    assert Journal.find(state, SDA).data["id"] == "op1"
    with pytest.raises(Refused, match="different device"):
        Journal.find(state, make_device("/dev/sda", serial="OTHER"))
    with pytest.raises(BadInput, match="no interrupted erase"):
        Journal.find(state, SDB)
    journal.delete()
    with pytest.raises(BadInput):
        Journal.find(state, SDA)


def test_pipeline_completes_in_order_and_stops() -> None:
    chunks = [(i * 10, 10) for i in range(20)]
    seen: list[int] = []
    stop = threading.Event()

    def complete(slot: list[int], off: int, n: int, res: int) -> None:
        seen.append(res)
        if off == 90:
            stop.set()

    def work(slot: list[int], off: int, n: int) -> int:
        slot[0] = off
        return slot[0]

    run_pipeline(chunks, [[0], [0], [0]], work, complete, stop)
    assert seen == sorted(seen) and seen[0] == 0 and 90 in seen and len(seen) < 20


def test_pipeline_second_stage_sees_each_result_in_chunk_order_and_raises_here() -> None:
    chunks = [(i * 10, 10) for i in range(30)]
    staged: list[int] = []
    done: list[int] = []

    def then(slot: list[int], off: int, n: int, read: int) -> int:
        staged.append(read)
        if off == 250:
            raise ValueError("injected")
        return read + 1

    with pytest.raises(ValueError, match="injected"):
        run_pipeline(
            chunks,
            [[0] for _ in range(5)],
            lambda s, o, n: o,
            lambda s, o, n, r: done.append(r),
            threading.Event(),
            then=then,
        )
    assert staged == sorted(staged) and done == [o + 1 for o in range(0, 250, 10)]


def test_journal_found_by_identity_after_rename(tmp_path: os.PathLike[str]) -> None:
    state = StateDir(os.path.join(str(tmp_path), "state"))
    Journal.create(state, "op2", SDA, {"phase": "write", "pass": 1, "offset": 0})
    renamed = make_device("/dev/sdc", serial="S1", devno="8:32")
    assert Journal.find(state, renamed).data["id"] == "op2"


def test_new_journal_supersedes_an_interrupted_one(tmp_path: os.PathLike[str]) -> None:
    state = StateDir(os.path.join(str(tmp_path), "state"))
    old = Journal.create(state, "old", SDA, {"key": "00" * 32})
    Journal.create(state, "new", SDA, {})
    assert not os.path.exists(old.path)
    assert Journal.find(state, SDA).data["id"] == "new"


def test_keystream_regenerates_at_any_offset() -> None:
    from sanitize.erase.buffers import AlignedBuffer, PatternSource

    source = PatternSource("random", PatternSource.new_key(), 1 << 20)
    whole, part, zeros, again = (AlignedBuffer(1 << 20) for _ in range(4))
    source.fill(whole, 0, 1 << 20)
    source.fill(part, 4096, 8192)
    assert bytes(whole.view[4096 : 4096 + 8192]) == bytes(part.view[:8192])
    assert not whole.equals(zeros, 1 << 20)
    source.fill(again, 0, 1 << 20)  # what verification compares the read-back with
    assert whole.equals(again, 1 << 20)
    for buf in (whole, part, zeros, again):
        buf.close()
        buf.close()  # closing twice is harmless (verification shares one fixed-pattern buffer)
