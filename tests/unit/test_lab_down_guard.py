"""`lab down --dir D` removes only a lab: any other directory keeps its files, images and mounts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sanitize import lab as labmod
from sanitize.errors import BadInput, ToolMissing
from sanitize.hw.host import parse_mountinfo
from tests.support.fake_host import FakeHost


@pytest.mark.parametrize("contents", ["empty", "other-images"])
def test_down_on_a_directory_that_is_no_lab_removes_nothing(tmp_path: Path, contents: str) -> None:
    target = tmp_path / "not-a-lab"
    target.mkdir()
    kept = []
    if contents == "other-images":
        (target / "images").mkdir()
        for name in ("win11.img", "backup.img"):
            (target / "images" / name).write_bytes(b"somebody's disk image")
            kept.append(target / "images" / name)
        (target / "vault.key").write_text("not the lab's")
        kept.append(target / "vault.key")

    with pytest.raises(BadInput, match="no lab here"):
        labmod.down(FakeHost(), str(target), remove_state=True)

    assert target.is_dir()
    assert all(p.exists() for p in kept)


def test_lab_mounts_are_only_those_under_its_mnt_directory(tmp_path: Path) -> None:
    base = os.path.realpath(tmp_path)
    mountinfo = (
        f"36 25 0:32 / {base}/lab/mnt/system rw - ext4 /dev/loop0 rw\n"
        f"37 25 0:33 / {base}/lab/data rw - ext4 /dev/sdb1 rw\n"  # somebody else's, inside the dir
        "38 25 0:34 / /srv rw - ext4 /dev/sdc1 rw\n"
    )
    host = FakeHost(mount_table=parse_mountinfo(mountinfo))
    assert labmod.lab_mounts(host, os.path.join(base, "lab")) == [f"{base}/lab/mnt/system"]


def test_up_without_a_program_it_needs_names_every_package_and_makes_nothing(tmp_path: Path) -> None:
    host = FakeHost(tools={"truncate", "losetup", "mount", "umount"})
    target = tmp_path / "lab"

    with pytest.raises(ToolMissing, match=r"mkfs\.ext4, cryptsetup") as raised:
        labmod.up(host, str(target))

    assert raised.value.hint == "apt-get install cryptsetup-bin e2fsprogs"
    assert not target.exists()
