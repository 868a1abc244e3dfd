"""btrfs allocation map from `btrfs inspect-internal` text (the forms recorded from btrfs-progs 6.2)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sanitize.hw import fsmap
from sanitize.hw.commands import CommandResult
from sanitize.hw.fsmap import open_fsmap
from tests.support.fake_host import FakeHost

SUPER = (
    "csum_type\t\t0 (crc32c)\nnum_devices\t\t{n}\n"
    "compat_ro_flags\t\t0x3\n\t\t\t( FREE_SPACE_TREE |\n\t\t\t  {valid} )\n"
)
CHUNKS = """chunk tree
\titem 1 key (FIRST_CHUNK_TREE CHUNK_ITEM 13631488) itemoff 16105 itemsize 80
\t\tlength 8388608 owner 2 stripe_len 65536 type DATA|single
\t\tnum_stripes 1 sub_stripes 1
\t\t\tstripe 0 devid 1 offset 13631488
\titem 3 key (FIRST_CHUNK_TREE CHUNK_ITEM 30408704) itemoff 15881 itemsize 112
\t\tlength 33554432 owner 2 stripe_len 65536 type METADATA|DUP
\t\tnum_stripes 2 sub_stripes 1
\t\t\tstripe 0 devid 1 offset 38797312
\t\t\tstripe 1 devid 1 offset 72351744
"""
FREE = """free space tree key (FREE_SPACE_TREE ROOT_ITEM 0)
\titem 4 key (13631488 FREE_SPACE_INFO 8388608) itemoff 16259 itemsize 8
\t\tfree space info extent count 1 flags 0
\titem 5 key (13651968 FREE_SPACE_EXTENT 8368128) itemoff 16259 itemsize 0
\t\tfree space extent
\titem 9 key (30408704 FREE_SPACE_INFO 33554432) itemoff 16243 itemsize 8
\t\tfree space info extent count 4 flags {flags}
"""


def fake(*, devices: int = 1, valid: bool = True, bitmap: bool = False) -> FakeHost:
    """A host whose `btrfs inspect-internal` prints the recorded forms."""
    outputs = {
        "dump-super": SUPER.format(n=devices, valid="FREE_SPACE_TREE_VALID" if valid else ""),
        "chunk": CHUNKS,
        "10": FREE.format(flags=1 if bitmap else 0),
    }

    def btrfs(argv: Sequence[str], **_: object) -> CommandResult:
        assert list(argv[:2]) == ["btrfs", "inspect-internal"]
        key = argv[-2] if argv[2] == "dump-tree" else argv[2]
        return CommandResult(tuple(argv), 0, outputs[key], "", 0.0)

    return FakeHost(runner=btrfs)


def test_offsets_map_through_chunks_to_the_free_space_tree() -> None:
    found = open_fsmap(fake(), "/dev/x", "btrfs").lookup([13631488, 13651968, 4096, 38797312 + 16384, 72351744 + 16384])
    assert found[13631488].allocated is True  # a live data extent
    assert found[13651968].allocated is False  # inside a free extent: deleted data
    assert found[4096].allocated is False  # no chunk uses this device space
    # Both DUP copies of a metadata block map to one logical address, in a group with no free extents listed.
    assert found[38797312 + 16384].allocated is True and found[72351744 + 16384].allocated is True


def test_a_block_group_kept_as_a_bitmap_answers_unknown() -> None:
    found = open_fsmap(fake(bitmap=True), "/dev/x", "btrfs").lookup([38797312 + 16384, 13651968])
    assert found[38797312 + 16384].allocated is None and found[13651968].allocated is False


@pytest.mark.parametrize(("kw", "why"), [({"devices": 2}, "several devices"), ({"valid": False}, "space_cache v1")])
def test_layouts_it_cannot_map_say_so(kw: dict, why: str) -> None:
    fs = open_fsmap(fake(**kw), "/dev/x", "btrfs")
    assert type(fs) is fsmap.FsMap and why in (fs.note or "")
    assert fs.lookup([0])[0].allocated is None
