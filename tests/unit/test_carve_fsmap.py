"""Allocation-map parsing (hw.fsmap) against outputs recorded from debugfs 1.47 and xfs_db 6.1."""

from __future__ import annotations

from collections.abc import Sequence

from sanitize.errors import ToolMissing
from sanitize.hw import commands, fsmap
from tests.support.fake_host import FakeHost

SUPER = "Filesystem volume name:   <none>\nBlock size:               1024\nBlock count:              65536\n"
TESTB = "debugfs: testb 9563\nBlock 9563 not in use\ndebugfs: testb 100\nBlock 100 marked in use\n"
TESTB += "debugfs: testb 8451\nBlock 8451 marked in use\n"
ICHECK = "debugfs: icheck 100 8451\nBlock\tInode number\n100\t<block not found>\n8451\t12\n"
NCHECK = "debugfs: ncheck 12\nInode\tPathname\n12\t//models/a.gguf\n"

XFS_SB = "agblocks = 20480\nagblklog = 15\nblocksize = 4096\n    agno    agbno      len\n       0      500     1000\n"
XFS_USE = "block 24 (0/24) type data inode 132 d/a.bin\nblock 32768 (1/0) type free2\n"


def fake_host(outputs: dict[str, str], calls: list[tuple[Sequence[str], object]]) -> FakeHost:
    def run(argv: Sequence[str], *, input: object = None, **_: object) -> commands.CommandResult:
        calls.append((tuple(argv), input))
        text = str(input or "") + " ".join(argv)
        for key, out in outputs.items():
            if key in text:
                return commands.CommandResult(tuple(argv), 0, out, "", 0.0)
        return commands.CommandResult(tuple(argv), 0, "", "", 0.0)

    return FakeHost(runner=run)


def test_ext4_lookup_batches_testb_icheck_ncheck_on_stdin() -> None:
    calls: list[tuple[Sequence[str], object]] = []
    outputs = {"show_super_stats": SUPER, "testb": TESTB, "icheck": ICHECK, "ncheck": NCHECK}
    m = fsmap.open_fsmap(fake_host(outputs, calls), "/dev/fake", "ext4")
    states = m.lookup([9563 * 1024 + 512, 100 * 1024, 8451 * 1024])
    assert states[9563 * 1024 + 512] == fsmap.BlockState(False)
    assert states[100 * 1024] == fsmap.BlockState(True, None)  # metadata: in use, no file
    assert states[8451 * 1024] == fsmap.BlockState(True, "/models/a.gguf")
    stdin_calls = [c for c in calls if c[1] is not None]
    assert all(argv[:3] == ("debugfs", "-f", "-") for argv, _ in stdin_calls)  # never a temp file
    assert "-w" not in {a for argv, _ in calls for a in argv}


def test_xfs_lookup_uses_blockget_and_falls_back_to_free_extents() -> None:
    calls: list[tuple[Sequence[str], object]] = []
    m = fsmap.open_fsmap(fake_host({"blockget": XFS_USE, "freesp": XFS_SB}, calls), "/dev/fake", "xfs")
    ag1 = 20480 * 4096  # first byte of AG 1: fsblock 1 << 15
    states = m.lookup([24 * 4096, ag1, 600 * 4096])
    assert states[24 * 4096] == fsmap.BlockState(True, "/d/a.bin")
    assert states[ag1] == fsmap.BlockState(False)
    assert states[600 * 4096] == fsmap.BlockState(False)  # not in blockuse output: free-extent list says free
    assert m.note and "blockget failed" in m.note
    assert all(argv[:2] == ("xfs_db", "-r") for argv, _ in calls)


def test_unknown_filesystems_and_failures_answer_unknown() -> None:
    def not_installed(argv: Sequence[str], **_: object) -> commands.CommandResult:
        raise ToolMissing(f"{argv[0]} is not installed")

    no_btrfs = FakeHost(runner=not_installed)
    assert fsmap.open_fsmap(no_btrfs, "/dev/fake", "btrfs").lookup([0]) == {0: fsmap.BlockState(None)}
    assert fsmap.open_fsmap(FakeHost(), "/dev/fake", None).note
    failing = FakeHost(runner=lambda argv, **_: commands.CommandResult(tuple(argv), 1, "", "bad magic", 0.0))
    broken = fsmap.open_fsmap(failing, "/dev/fake", "ext4")
    assert broken.lookup([4096]) == {4096: fsmap.BlockState(None)} and "unreadable" in (broken.note or "")
