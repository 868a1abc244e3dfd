"""Paths opened without following any symlink; archive heads recorded outside the archive."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sanitize.certify.archive import Anchor, read_witness
from sanitize.detect import nofollow
from sanitize.errors import BadInput

ROOT = "ab" * 32


@pytest.mark.parametrize("openat2", [True, False])
def test_a_symlink_anywhere_in_the_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openat2: bool
) -> None:
    monkeypatch.setattr(nofollow, "_openat2_works", openat2 and nofollow._openat2_works)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    fd = nofollow.open_no_symlinks(str(tmp_path / "real" / "f"), os.O_RDONLY)
    assert os.read(fd, 1) == b"x"
    os.close(fd)
    for path in (tmp_path / "link" / "f", tmp_path / "link"):
        with pytest.raises(OSError):
            os.close(nofollow.open_no_symlinks(str(path), os.O_RDONLY))


def test_anchor_parse_and_check() -> None:
    anchor = Anchor.parse(f"2:{ROOT}", "ticket")
    assert (anchor.size, anchor.root) == (2, ROOT)
    assert "rolled back" in (anchor.check([b"one"]) or "")
    assert "history rewritten" in (anchor.check([b"one", b"two"]) or "")
    for bad in ("2", f"x:{ROOT}", "2:abc", f"2:{ROOT.upper()}"):
        with pytest.raises(BadInput):
            Anchor.parse(bad, "ticket")


def test_witness_files_in_every_form(tmp_path: Path) -> None:
    lines = tmp_path / "heads.txt"
    lines.write_text(f"# central store\n1:{ROOT}  # after the first run\n\n3:{ROOT}\n")
    assert [a.size for a in read_witness(str(lines), None)] == [1, 3]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"schema": "sanitize.archive-list/1", "head": {"size": 4, "root": ROOT}}))
    assert [a.size for a in read_witness(str(listed), None)] == [4]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    with pytest.raises(BadInput, match="no head"):
        read_witness(str(empty), None)
