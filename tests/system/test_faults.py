"""Fault injection at every phase of an erase, in parallel workers, and in decommission (root).

Faults are put behind the hardware boundary (`tests.support.faults.FaultyHost`, handed to
the real command line) or into the state directory itself (a full tmpfs). Each test checks
the exit code, the JSON result, the saved result and the failure report made from it, the
journal, and that the other devices of the run were not affected.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sanitize.certify.document import build_document
from sanitize.cli import cli
from sanitize.cli.app import App
from sanitize.errors import ExitCode
from tests.support.clirunner import cli_runner
from tests.support.faults import Fault, FaultyHost
from tests.support.journal import journal_in
from tests.support.lab import LoopLab, device_sha256, sh
from tests.support.methods import checkpointing_every

pytestmark = pytest.mark.root

MiB = 1 << 20


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def doc(self) -> dict[str, Any]:
        return json.loads(self.stdout)


def run_cli(host: FaultyHost, *args: str) -> Run:
    """The real `sanitize` command line, in this process, with `host` as the machine and the
    overwrite checkpointing every 8 MiB (so a fault mid-pass leaves a journal to resume from)."""
    app = App(host=host, erase_methods=checkpointing_every(8))
    result = cli_runner().invoke(cli, list(args), obj=app, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def name(dev: str) -> str:
    return os.path.basename(dev)


def erase_args(dev: str, *extra: str) -> list[str]:
    return ["erase", dev, "--pattern", "random", "--confirm", name(dev), "--json", *extra]


def saved_result(state_dir: str, result_id: str) -> dict[str, Any]:
    with open(os.path.join(state_dir, "results", f"{result_id}.json"), encoding="utf-8") as fh:
        return json.load(fh)


def assert_failure_report(result: dict[str, Any], phase: str, error: str) -> dict[str, Any]:
    """The failure report made from the result names the phase and error and says how far it got."""
    report = build_document(result)
    assert report["schema"] == "sanitize.failure-report/1" and report["status"] == "failed"
    assert report["failure"]["phase"] == phase and report["failure"]["error"] == error, report["failure"]
    assert report["phases"] == {k: {"status": v["status"], "detail": v["detail"]} for k, v in result["phases"].items()}
    assert report["sanitization"]["method_details"]["bytes_written"] == result["bytes_written"]
    return report


@pytest.fixture
def no_stray_tmp(state_dir: str) -> Iterator[None]:
    yield
    assert not glob.glob(os.path.join(state_dir, "**", "*.tmp.*"), recursive=True, include_hidden=True)


# phase -> (the fault on that device, extra erase options, journal kept for --resume)
PHASES: dict[str, tuple[Callable[[str], Fault], tuple[str, ...], bool]] = {
    "open": (lambda d: Fault("open", OSError(errno.EIO, "injected: open"), device=d, write=True), (), False),
    "write": (
        lambda d: Fault("write", OSError(errno.EINVAL, "injected: write"), device=d, after_bytes=24 * MiB),
        (),
        True,
    ),
    "checkpoint": (lambda d: Fault("sync", OSError(errno.EINVAL, "injected: device flush"), device=d), (), True),
    "verify": (lambda d: Fault("read", ValueError("injected: overlap"), device=d), ("--verify", "full"), True),
    "carve-check": (lambda d: Fault("open", RuntimeError("injected: carve"), device=d, write=False, nth=2), (), True),
    "discard": (
        lambda d: Fault("open", RuntimeError("injected: discard"), device=d, write=True, nth=2),
        ("--discard",),
        True,
    ),
}


@pytest.mark.parametrize("phase", list(PHASES))
def test_an_exception_in_each_phase_fails_that_device_with_exit_1_and_an_honest_record(
    lab: LoopLab, state_dir: str, phase: str, no_stray_tmp: None
) -> None:
    make_fault, extra, journal_kept = PHASES[phase]
    dev = lab.loop("64M", preallocate=True)
    fault = make_fault(dev)
    host = FaultyHost(faults=[fault])

    run = run_cli(host, *erase_args(dev, *extra))

    assert fault.fired, f"the {phase} fault was never reached"
    assert run.code == ExitCode.INTERNAL, (run.code, run.stderr)
    doc = run.doc()  # the result is printed even though the run failed
    assert doc["status"] == "failed"
    error = type(fault.error).__name__
    assert doc["failure"]["phase"] == phase and doc["failure"]["error"] == error and doc["failure"]["internal"]
    assert "injected" in doc["failure"]["message"]
    assert doc["phases"][phase]["status"] == "failed" and "injected" in doc["phases"][phase]["detail"]
    assert any(f"{phase} failed with an internal error: {error}" in n for n in doc["notes"])
    # stderr: one line for the operator, no traceback
    assert "Traceback" not in run.stderr
    assert f"sanitize: internal error: {dev}: {phase} failed: {error}" in run.stderr
    # The written byte count is what the device received, never a default.
    if phase == "open":
        assert doc["bytes_written"] == 0 and "write" not in doc["phases"]
        assert doc["phases"]["verify"]["status"] == "not reached"
    elif phase in ("write", "checkpoint"):
        assert 0 < doc["bytes_written"] < 64 * MiB
        assert doc["phases"]["write"]["status"] == "failed"
        assert doc["verification"]["outcome"] == "skipped" and doc["phases"]["verify"]["status"] == "not reached"
    else:
        assert doc["bytes_written"] == 64 * MiB and doc["phases"]["write"]["status"] == "done"
    if phase == "verify":
        assert doc["verification"]["outcome"] == "failed" and doc["verification"]["method"] == "full"
    if phase in ("carve-check", "discard"):
        assert doc["verification"]["outcome"] == "passed" and doc["phases"]["verify"]["status"] == "done"
    # The saved result and the failure report made from it say the same.
    saved = saved_result(state_dir, doc["id"])
    assert saved == doc
    assert_failure_report(saved, phase, error)
    # The journal stays where resuming is safe, and the printed command resumes it as printed.
    journal = journal_in(state_dir)
    assert (journal is not None) == journal_kept
    if journal_kept:
        assert journal is not None and journal["ended_with"].startswith(f"{phase}: {error}")
        hint = next(n for n in doc["notes"] if "continue with: " in n).split("continue with: ")[1].split(" (")[0]
        assert hint.split()[:3] == ["sanitize", "--state-dir", state_dir]
        resumed = run_cli(FaultyHost(), *hint.split()[1:], "--json", *extra)
        assert resumed.code == 0, resumed.stderr
        again = resumed.doc()
        assert again["status"] == "verified" and again["id"] == doc["id"] and again["failure"] is None
        assert any(n.startswith("resumed:") and f"failed ({phase}: {error}" in n for n in again["notes"])
        assert not any("continue with" in n for n in again["notes"])
        assert journal_in(state_dir) is None


def test_parallel_workers_one_device_fails_the_others_finish(lab: LoopLab, state_dir: str) -> None:
    devs = [lab.loop("32M", preallocate=True) for _ in range(3)]
    in_write = Fault("write", OSError(errno.EINVAL, "injected: write"), device=devs[0], after_bytes=8 * MiB)
    in_verify = Fault("read", MemoryError("injected: verify"), device=devs[1])
    host = FaultyHost(faults=[in_write, in_verify])

    run = run_cli(host, "erase", *devs, "--confirm", ",".join(map(name, devs)), "--json")

    assert run.code == ExitCode.INTERNAL, run.stderr
    doc = run.doc()
    assert doc["schema"] == "sanitize.erase-run/1"
    by_path = {r["device"]["path"]: r for r in doc["results"]}
    assert by_path[devs[0]]["status"] == "failed" and by_path[devs[0]]["failure"]["phase"] == "write"
    assert by_path[devs[1]]["status"] == "failed" and by_path[devs[1]]["failure"]["error"] == "MemoryError"
    assert by_path[devs[2]]["status"] == "verified" and by_path[devs[2]]["failure"] is None
    assert by_path[devs[2]]["bytes_written"] == 32 * MiB
    for result in doc["results"]:
        assert saved_result(state_dir, result["id"]) == result
    assert run.stderr.count("sanitize: internal error:") == 2


@pytest.fixture
def small_state_fs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A 4 MiB tmpfs as the state directory, so it can really fill up (ENOSPC)."""
    mnt = str(tmp_path_factory.mktemp("statefs"))
    sh("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mnt)
    try:
        state = os.path.join(mnt, "state")
        monkeypatch.setenv("SANITIZE_STATE_DIR", state)
        yield state
    finally:
        subprocess.run(["umount", mnt], check=False)


def fill(directory: str) -> str:
    """Take every free byte of the filesystem holding `directory`; returns the filler's path.

    A journal save may be running beside the writes when this is called: its temporary file
    already holds a page, and its rename then frees the old journal's page, which every later
    save would reuse (one freed, one taken). So once no save is in flight, the filler takes
    what the rename freed. A save that starts later fails on its first write, as it should."""
    filler = os.path.join(os.path.dirname(directory), "filler")
    take_all_space(filler)
    deadline = time.monotonic() + 10
    while glob.glob(os.path.join(directory, "**", "*.tmp.*"), recursive=True, include_hidden=True):
        assert time.monotonic() < deadline, "a journal save never ended"
        time.sleep(0.05)
    take_all_space(filler)
    return filler


def take_all_space(filler: str) -> None:
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_state_directory_while_saving_the_journal(lab: LoopLab, small_state_fs: str) -> None:
    dev = lab.loop("64M", preallocate=True)
    fillers: list[str] = []
    # Once 40 MiB are written (checkpoints were saved at 8, 16 and 24 MiB), something else
    # fills the state directory's filesystem.
    full = Fault("write", action=lambda: fillers.append(fill(small_state_fs)), device=dev, after_bytes=40 * MiB)

    run = run_cli(FaultyHost(faults=[full]), *erase_args(dev))

    assert full.fired and run.code == ExitCode.INTERNAL, run.stderr
    doc = run.doc()  # printed although it could not be saved
    assert doc["status"] == "failed" and doc["failure"]["phase"] == "checkpoint"
    assert doc["failure"]["error"] == "OSError" and "No space left" in doc["failure"]["message"]
    assert 0 < doc["bytes_written"] < 64 * MiB
    assert "not saved" in run.stderr and "Traceback" not in run.stderr
    assert not glob.glob(os.path.join(small_state_fs, "**", "*.tmp.*"), recursive=True, include_hidden=True)
    journal = journal_in(small_state_fs)  # the last good checkpoint, intact
    assert journal is not None and journal["phase"] == "write" and 0 < journal["offset"] <= doc["bytes_written"]

    os.unlink(fillers[0])  # space again: the printed command continues from the checkpoint
    hint = next(n for n in doc["notes"] if "continue with: " in n).split("continue with: ")[1].split(" (")[0]
    resumed = run_cli(FaultyHost(), *hint.split()[1:], "--json")
    assert resumed.code == 0, resumed.stderr
    assert resumed.doc()["status"] == "verified" and resumed.doc()["id"] == doc["id"]


def test_verify_none_is_unverified_and_exits_0(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("16M")
    run = run_cli(FaultyHost(), *erase_args(dev, "--verify", "none"))
    assert run.code == 0, run.stderr
    doc = run.doc()
    assert doc["status"] == "unverified" and doc["phases"]["verify"]["status"] == "skipped"
    assert build_document(doc)["schema"] == "sanitize.failure-report/1"  # never a certificate


# --- --output: checked up front, but its directory can still vanish during the erase ---------


@pytest.mark.parametrize("device_fails", [False, True])
def test_an_output_file_that_cannot_be_written_after_the_erase(
    lab: LoopLab, state_dir: str, tmp_path_factory: pytest.TempPathFactory, device_fails: bool
) -> None:
    """Every result is still recorded and printed; exit 3 when that file is all that is missing,
    and a device's own failure (here an internal error, 1) goes first, as docs/exit-codes.md says."""
    dev = lab.loop("32M", preallocate=True)
    outdir = str(tmp_path_factory.mktemp("out"))
    output = os.path.join(outdir, "result.json")
    faults = [Fault("write", action=lambda: os.rmdir(outdir), device=dev, after_bytes=8 * MiB)]
    if device_fails:
        faults.append(Fault("write", OSError(errno.EINVAL, "injected: write"), device=dev, after_bytes=16 * MiB))

    run = run_cli(FaultyHost(faults=faults), *erase_args(dev, "--output", output))

    assert faults[0].fired and not os.path.exists(outdir)
    assert run.code == (ExitCode.INTERNAL if device_fails else ExitCode.BAD_INPUT), run.stderr
    doc = run.doc()  # printed although the file could not be written
    assert doc["status"] == ("failed" if device_fails else "verified")
    assert saved_result(state_dir, doc["id"]) == doc  # and recorded, so `cert issue` can use it
    assert f"sanitize: error: --output: cannot write {output}" in run.stderr
    assert "Traceback" not in run.stderr


# --- plan, LUKS ------------------------------------------------------------------------------


def test_an_exception_while_planning_exits_1_with_one_line_and_writes_nothing(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("32M")
    lab.luks(dev)
    before = device_sha256(dev)
    host = FaultyHost(faults=[Fault("run", KeyError("injected: plan"), argv=("cryptsetup", "luksDump"))])
    run = run_cli(host, "erase", dev, "--method", "auto", "--confirm", name(dev), "--json")
    assert run.code == ExitCode.INTERNAL and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sanitize: internal error: KeyError")
    assert device_sha256(dev) == before and not os.path.exists(state_dir)


def test_an_exception_in_the_luks_erase_fails_the_device(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("32M")
    lab.luks(dev)
    host = FaultyHost(faults=[Fault("run", ConnectionError("injected: luks"), argv=("cryptsetup", "erase"))])
    run = run_cli(host, "erase", dev, "--method", "luks-crypto-erase", "--confirm", name(dev), "--json")
    assert run.code == ExitCode.INTERNAL, run.stderr
    doc = run.doc()
    assert doc["status"] == "failed" and doc["failure"]["phase"] == "luks"
    assert doc["failure"]["error"] == "ConnectionError" and doc["bytes_written"] == 0
    assert_failure_report(saved_result(state_dir, doc["id"]), "luks", "ConnectionError")


# --- decommission: parallel workers, certificates -----------------------------------------


def decommission(host: FaultyHost, state: str, devs: list[str]) -> Run:
    only = [arg for d in devs for arg in ("--only", d)]
    return run_cli(host, "--state-dir", state, "decommission", *only, "--confirm", ",".join(map(name, devs)), "--json")


@pytest.fixture
def keyed_state(tmp_path_factory: pytest.TempPathFactory) -> str:
    state = str(tmp_path_factory.mktemp("dc") / "state")
    run = run_cli(FaultyHost(), "--state-dir", state, "keys", "init", "--org", "Fault Test Org")
    assert run.code == 0, run.stderr
    return state


def test_decommission_a_device_failing_mid_write_gets_an_honest_signed_report(lab: LoopLab, keyed_state: str) -> None:
    bad, good = lab.loop("64M", preallocate=True), lab.loop("32M", preallocate=True)
    fault = Fault("write", OSError(errno.EINVAL, "injected: write"), device=bad, after_bytes=40 * MiB)

    run = decommission(FaultyHost(faults=[fault]), keyed_state, [bad, good])

    assert run.code == ExitCode.INTERNAL, run.stderr[-2000:]
    doc = run.doc()
    results = {r["device"]["path"]: r for r in doc["results"]}
    assert results[good]["status"] == "verified"
    failed = results[bad]
    assert failed["status"] == "failed" and failed["failure"]["phase"] == "write"
    assert 8 * MiB <= failed["bytes_written"] < 64 * MiB
    kinds = {c["result_id"]: c for c in doc["certificates"]}
    assert kinds[results[good]["id"]]["kind"] == "certificate"
    report_entry = kinds[failed["id"]]
    assert report_entry["kind"] == "failure-report"
    with open(report_entry["json"], encoding="utf-8") as fh:
        report = json.load(fh)
    # Not "did not start, 0 bytes": what was written and where it stopped, signed.
    assert report["sanitization"]["method_details"]["bytes_written"] == failed["bytes_written"]
    assert report["failure"]["phase"] == "write" and report["failure"]["error"] == "OSError"
    assert report["phases"]["write"]["status"] == "failed"
    assert not any("did not start" in str(e) for e in report["errors"])
    assert doc["archive"]["ok"] and doc["internal_errors"]
    pdf = subprocess.run(["pdftotext", report_entry["pdf"], "-"], capture_output=True, text=True, check=True).stdout
    assert "Stopped by an internal error in phase write" in pdf and "How far it got" in pdf


def test_decommission_certificate_phase_failure_is_recorded(lab: LoopLab, keyed_state: str) -> None:
    dev = lab.loop("16M")
    # The certificates directory cannot be created: a file is in its way.
    with open(os.path.join(keyed_state, "certificates"), "w") as fh:
        fh.write("in the way\n")
    run = decommission(FaultyHost(), keyed_state, [dev])
    assert run.code == ExitCode.INTERNAL, run.stderr[-2000:]
    doc = run.doc()
    assert doc["results"][0]["status"] == "verified"  # the erase itself is true and saved
    assert saved_result(keyed_state, doc["results"][0]["id"])["status"] == "verified"
    assert any("no certificate" in p for p in doc["problems"]) and doc["certificates"] == []
    assert "Traceback" not in run.stderr
