"""Input files are read without ever blocking, and only when they are regular files of sane size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sanitize.inputs import InputTooLarge, NotRegularFile, read_regular


def test_regular_file_and_symlink_to_it(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "a.json")
    assert read_regular(str(tmp_path / "a.json")) == b"{}"
    assert read_regular(str(tmp_path / "link.json")) == b"{}"


def test_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # no writer: a plain open() would wait forever
    with pytest.raises(NotRegularFile) as info:
        read_regular(str(tmp_path / "fifo"))
    assert "not a regular file" in str(info.value.strerror)


def test_endless_device_is_refused() -> None:
    with pytest.raises(NotRegularFile):
        read_regular("/dev/zero")


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_regular(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        read_regular(str(tmp_path / "missing"))


def test_size_is_capped(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (3 << 20))
    with pytest.raises(InputTooLarge, match="larger than 2 MiB"):
        read_regular(str(big), limit=2 << 20)
    assert len(read_regular(str(big), limit=None)) == 3 << 20
