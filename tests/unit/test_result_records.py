"""The erase engine's tagged result records, plausibility, and the private state directory."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from sanitize.certify.plausible import problems
from sanitize.erase.record import check_recorded, record_result
from sanitize.erase.result import EraseResult
from sanitize.errors import Refused
from sanitize.state import StateDir, create_private_once, write_private
from tests.support.certify import erase_result

OVERWRITE = {
    "method": "overwrite",
    "passes": 1,
    "bytes_written": 1 << 30,
    "device": {"size_bytes": 1 << 30, "path": "/dev/sdz", "serial": "S1"},
    "verification": {"method": "sample", "coverage": 0.1, "bytes_checked": (1 << 30) // 10, "mismatches": 0},
    "errors": [],
    "started_at": "2026-11-27T09:00:00Z",
    "finished_at": "2026-11-27T09:00:30Z",
    "timing": {"write": 20.0, "verify": 5.0},
}


def test_a_recorded_result_checks_and_any_change_is_refused(tmp_path: Path) -> None:
    state = StateDir(str(tmp_path / "state"))
    result = erase_result()
    record_result(state, result)
    assert check_recorded(state, result)["result_id"] == result["id"]
    with pytest.raises(Refused, match="differs from the erase engine's record"):
        check_recorded(state, {**result, "bytes_written": 12})
    with pytest.raises(Refused, match="not a result recorded"):
        check_recorded(state, {**result, "id": "another-id"})


def test_a_record_with_a_forged_tag_or_another_key_is_refused(tmp_path: Path) -> None:
    state = StateDir(str(tmp_path / "state"))
    result = erase_result()
    record_result(state, result)
    path = Path(state.path, "results", f"{result['id']}.record")
    record = json.loads(path.read_text())
    record["status"] = "verified-by-me"
    path.write_text(json.dumps(record))
    with pytest.raises(Refused, match="does not verify"):
        check_recorded(state, result)
    record_result(state, result)
    os.unlink(Path(state.path, "keys", "record.key"))
    write_private(str(Path(state.path, "keys", "record.key")), os.urandom(32))
    with pytest.raises(Refused, match="does not verify"):
        check_recorded(state, result)


def test_the_record_key_is_created_once_and_private(tmp_path: Path) -> None:
    state = StateDir(str(tmp_path / "state"))
    record_result(state, erase_result())
    key = Path(state.path, "keys", "record.key")
    first = key.read_bytes()
    record_result(state, erase_result(id="x-2"))
    assert key.read_bytes() == first and len(first) == 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not create_private_once(str(key), b"other")


def _typed(**fields: object) -> EraseResult:
    """The fixture result with `fields` replaced, read as certification reads it."""
    return EraseResult.from_dict(erase_result(**fields))


def test_a_plausible_overwrite_has_no_problem() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert problems(_typed(**OVERWRITE), now=now) == []
    assert problems(_typed(), now=now) == []


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"bytes_written": 12}, "wrote 12 bytes"),
        ({"passes": 0}, "no pass"),
        ({"verification": {**OVERWRITE["verification"], "bytes_checked": 0}}, "read nothing back"),
        ({"verification": {**OVERWRITE["verification"], "coverage": 0.5}}, "is not the"),
        ({"verification": {**OVERWRITE["verification"], "method": "none"}}, "checks nothing"),
        ({"verification": {**OVERWRITE["verification"], "bytes_checked": 2 << 30}}, "of a 1073741824-byte device"),
        ({"errors": [{"offset": 0, "length": 512, "error": "EIO"}]}, "error range"),
        ({"finished_at": "2026-11-27T08:00:00Z"}, "before it started"),
        ({"finished_at": "2027-01-01T00:00:00Z"}, "in the future"),
        ({"device": {"size_bytes": 4 << 40}, "bytes_written": 4 << 40, "timing": {}}, "faster"),
        ({"timing": {"write": 500.0}}, "do not fit"),
    ],
)
def test_implausible_results_are_named(change: dict, expect: str) -> None:
    found = problems(_typed(**{**OVERWRITE, **change}), now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert any(expect in p for p in found), found


def test_write_private_replaces_a_planted_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    write_private(str(link), b"new")
    assert target.read_text() == "untouched"
    assert not link.is_symlink() and link.read_bytes() == b"new"
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if ".tmp." in p.name] == []


@pytest.mark.parametrize("how", ["symlink", "world-writable", "keys-world-writable"])
def test_an_unsafe_state_directory_is_refused_with_how_to_fix_it(tmp_path: Path, how: str) -> None:
    path = tmp_path / "state"
    if how == "symlink":
        (tmp_path / "real").mkdir(mode=0o700)
        path.symlink_to(tmp_path / "real")
    else:
        path.mkdir(mode=0o700)
        victim = path if how == "world-writable" else path / "keys"
        victim.mkdir(exist_ok=True)
        victim.chmod(0o777)
    with pytest.raises(Refused) as exc:
        StateDir(str(path)).sub("keys")
    assert "unsafe state directory" in exc.value.one_line() and "chmod 0700" in exc.value.one_line()
