"""Executable plans and the rules between devices of one command (no root: fake hosts and files)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sanitize.erase import Command, EraseOptions, ExecutionContext, Planning, Step, new_result, plan_for
from sanitize.erase.method import MethodRegistry
from sanitize.erase.planset import PlanSet
from sanitize.errors import BadInput, Refused
from sanitize.inventory.model import DeviceTree
from sanitize.methods import all_methods
from sanitize.state import StateDir
from tests.support.devices import make_device
from tests.support.fake_drives import FakeDrives, FakeNvme, fixture
from tests.support.fake_host import FakeHost, FileDevice
from tests.unit.purge_support import data_file, device, host_for, make_plan, run_method

ROOT = Path(__file__).resolve().parents[2]

SANICAP = "nvme-id-ctrl__sn730-sanicap-crypto-block.json"


def test_a_command_that_is_not_a_step_of_the_plan_is_refused(tmp_path: Path) -> None:
    disk = data_file(tmp_path / "disk")
    host = FakeHost()
    plan = make_plan(host, DeviceTree((make_device(disk),)), make_device(disk), "overwrite")
    ctx = ExecutionContext(host, StateDir(str(tmp_path / "state")), new_result(plan, host))
    ctx.planned = frozenset(plan.all_steps())
    with pytest.raises(RuntimeError, match="not a command step"):
        ctx.run(Step("anything", Command(("dd", "if=/dev/zero", f"of={disk}"))))
    assert ctx.result.commands == []


@pytest.mark.parametrize(
    "method", ["nvme-sanitize-crypto", "nvme-sanitize-block", "nvme-format-user", "nvme-format-crypto"]
)
def test_every_command_a_firmware_erase_runs_is_one_the_dry_run_showed(tmp_path: Path, method: str) -> None:
    ns = data_file(tmp_path / "nvme0n1")
    ctrl = str(tmp_path / "nvme0")
    drives = FakeDrives()
    drives.add(FakeNvme(ctrl, fixture("nvme-id-ctrl__980pro-no-sanitize-format-crypto.json"
                                      if "format" in method else SANICAP), data=[ns]))  # fmt: skip
    dev = device(ns, media="nvme", transport="nvme", controller=ctrl)
    tree = DeviceTree((dev,))
    shown = {tuple(s["argv"]) for s in make_plan(host_for(drives), tree, dev, method).to_dict()["steps"] if s["argv"]}

    result = run_method(host_for(drives), tree, dev, method, tmp_path)

    assert result.status == "verified", result.to_dict()
    assert result.commands and {tuple(c.argv) for c in result.commands} <= shown


def test_a_disk_and_its_partition_in_one_command_are_bad_input(tmp_path: Path) -> None:
    disk = data_file(tmp_path / "sdb")
    part = data_file(tmp_path / "sdb1")
    tree = DeviceTree((make_device(disk, children=(part,)), make_device(part, type="part", parent=disk, serial=None)))
    planning = Planning(FakeHost(), tree, all_methods())
    plans = [plan_for(planning, d, "overwrite", EraseOptions()) for d in tree]
    with pytest.raises(BadInput, match="name only one of them"):
        PlanSet.strict(tree, plans)
    with pytest.raises(BadInput, match="overlaps"):
        PlanSet.strict(tree, [plans[0], plans[0]])


def test_a_controller_erased_whole_takes_no_other_namespace_of_it_in_the_same_run(tmp_path: Path) -> None:
    ctrl = str(tmp_path / "nvme0")
    ns1, ns2 = data_file(tmp_path / "nvme0n1"), data_file(tmp_path / "nvme0n2")
    drives = FakeDrives()
    drives.add(FakeNvme(ctrl, fixture(SANICAP), data=[ns1, ns2]))
    devs = [device(p, media="nvme", transport="nvme", controller=ctrl) for p in (ns1, ns2)]
    tree = DeviceTree(tuple(devs))
    planning = Planning(host_for(drives), tree, all_methods())
    sanitize = plan_for(planning, devs[0], "nvme-sanitize-crypto", EraseOptions())
    overwrite = plan_for(planning, devs[1], "overwrite", EraseOptions())
    assert sanitize.reach == ctrl and overwrite.reach is None

    kept, refused = PlanSet.build(tree, [sanitize, overwrite])
    assert list(kept) == [sanitize]
    assert [(p.device.path, "erases every namespace" in why) for p, why in refused] == [(ns2, True)]
    kept, refused = PlanSet.build(tree, [overwrite, sanitize])
    assert list(kept) == [overwrite] and refused[0][0] is sanitize
    with pytest.raises(BadInput, match="every namespace"):
        PlanSet.strict(tree, [sanitize, overwrite])


def test_busy_or_protected_is_one_rule_for_erase_and_the_shared_controller(tmp_path: Path) -> None:
    ctrl = str(tmp_path / "nvme0")
    ns1, ns2 = data_file(tmp_path / "nvme0n1"), data_file(tmp_path / "nvme0n2")
    drives = FakeDrives()
    drives.add(FakeNvme(ctrl, fixture(SANICAP), data=[ns1, ns2]))
    busy = device(ns2, media="nvme", transport="nvme", controller=ctrl, mountpoints=("/srv",))
    free = device(ns1, media="nvme", transport="nvme", controller=ctrl)
    planning = Planning(host_for(drives), DeviceTree((free, busy)), all_methods())
    with pytest.raises(Refused, match=rf"{ns2}: mounted on /srv"):
        plan_for(planning, busy, "overwrite", EraseOptions())
    with pytest.raises(Refused, match=rf"also holds {ns2}, which is in use \({ns2} mounted on /srv\)"):
        plan_for(planning, free, "nvme-sanitize-crypto", EraseOptions())


def test_methods_come_from_the_registry_the_caller_built(tmp_path: Path) -> None:
    disk = data_file(tmp_path / "disk")
    tree = DeviceTree((make_device(disk),))
    bare = Planning(FakeHost(), tree, MethodRegistry())
    with pytest.raises(BadInput, match="unknown erase method 'overwrite'"):
        plan_for(bare, make_device(disk), "overwrite", EraseOptions())
    assert {"overwrite", "nvme-sanitize-crypto", "luks-crypto-erase", "tcg-psid-revert"} <= set(all_methods().names())
    assert all_methods().chooser is not None and MethodRegistry().chooser is None


def test_an_overwrite_does_not_load_the_firmware_methods() -> None:
    """The purge methods register on the first name only they could hold (a tenth of an
    overwrite's start-up), and every question that needs them still sees them."""
    code = (
        "import sys\n"
        "from sanitize.methods import all_methods\n"
        "r = all_methods()\n"
        "assert r.get('overwrite').name == 'overwrite' and 'overwrite' in r\n"
        "assert 'sanitize.purge' not in sys.modules, 'loaded for overwrite'\n"
        "assert 'nvme-sanitize-crypto' in all_methods()\n"
        "assert all_methods().get('tcg-psid-revert').name == 'tcg-psid-revert'\n"
        "assert 'luks-crypto-erase' in all_methods().names()\n"
        "assert all_methods().chooser is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_threads_asking_at_once_all_find_the_later_methods() -> None:
    """Two threads ask for a method `more` registers: the second waits until it is in, not
    told that the method is unknown."""
    started = threading.Event()

    def slow_more(registry: MethodRegistry) -> None:
        started.set()
        time.sleep(0.2)
        registry.register(all_methods().get("luks-crypto-erase"))

    registry = MethodRegistry(more=slow_more)
    found: list[str] = []
    first = threading.Thread(target=lambda: found.append(registry.get("luks-crypto-erase").name))
    first.start()
    started.wait(5)
    found.append(registry.get("luks-crypto-erase").name)
    first.join()
    assert found == ["luks-crypto-erase", "luks-crypto-erase"]


class SignalOnFirstUpdate:
    """A progress display that sends SIGTERM to this process when the first chunk is written."""

    def __init__(self) -> None:
        self.sent = False

    def start(self, description: str, total: int, initial: int = 0) -> None:
        pass

    def update(self, n: int) -> None:
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)

    def close(self) -> None:
        pass


class SlowWritesDevice(FileDevice):
    def write_at(self, view: memoryview, offset: int) -> None:
        time.sleep(0.02)  # a device still writing when the stop arrives, however fast /tmp is
        super().write_at(view, offset)


def _two_disks(tmp_path: Path, size: int, host: FakeHost | None = None) -> tuple[FakeHost, PlanSet]:
    paths = [tmp_path / "a.img", tmp_path / "b.img"]
    for path in paths:
        path.write_bytes(b"secret" * (size // 6) + bytes(size % 6))
    devs = [make_device(str(p), serial=f"S-{p.stem}", size_bytes=size) for p in paths]
    host = host or FakeHost()
    planning = Planning(host, DeviceTree(tuple(devs)), all_methods())
    plans = [plan_for(planning, d, "overwrite", EraseOptions(pattern="zeros", verify="full")) for d in devs]
    return host, PlanSet.strict(planning.tree, plans)


def test_the_plan_set_runs_every_device_in_parallel_and_reports_in_order(tmp_path: Path) -> None:
    host, plan_set = _two_disks(tmp_path, 4 << 20)
    results, errors = plan_set.execute(host, StateDir(str(tmp_path / "state")), all_methods())
    assert errors == []
    assert [r.device["path"] for r in results] == [p.device.path for p in plan_set]
    assert [r.status for r in results] == ["verified", "verified"]


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "a-process-per-device"])
def test_a_signal_stops_every_device_at_its_next_checkpoint(tmp_path: Path, processes: bool) -> None:
    # Slow writes: a worker's progress reaches this process up to 0.1 s late, and a fast disk
    # finished writing and verifying 64 MiB of zeros before it did (a CI run).
    host, plan_set = _two_disks(tmp_path, 64 << 20, FakeHost(device_type=SlowWritesDevice))
    said: list[str] = []
    previous = signal.getsignal(signal.SIGTERM)
    results, _ = plan_set.execute(
        host,
        StateDir(str(tmp_path / "state")),
        all_methods(),
        progress=lambda i: SignalOnFirstUpdate(),  # in this process: the workers' progress comes here
        say=said.append,
        processes=processes,
    )
    assert [r.status for r in results] == ["interrupted", "interrupted"]
    assert all(any("continue with:" in n for n in r.notes) for r in results)  # the journals are kept
    assert said and said == ["sanitize: SIGTERM: stopping at the next checkpoint"] * len(said)
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is given back


# --- a process per device (erase.workers) ---------------------------------------------


class DiesOnOpen(FakeHost):
    """A host on which opening `victim` kills the process that opens it (a worker killed by
    the OOM killer or kill -9), or refuses it."""

    def __init__(self, victim: str, how: str) -> None:
        super().__init__()
        self.victim, self.how, self.parent = victim, how, os.getpid()

    def open_device(self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False) -> Any:
        if path == self.victim and os.getpid() != self.parent:  # never the test's own process
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "exit":
                os._exit(3)
            raise Refused(f"{path}: held exclusively by another program", hint="close it")
        return super().open_device(path, write=write, direct=direct, exclusive=exclusive)


def _two_disks_on(host: FakeHost, tmp_path: Path, size: int) -> PlanSet:
    _, plan_set = _two_disks(tmp_path, size)
    planning = Planning(host, DeviceTree(tuple(p.device for p in plan_set)), all_methods())
    return PlanSet.strict(planning.tree, [plan_for(planning, p.device, "overwrite", p.options) for p in plan_set])


def test_a_process_per_device_gives_the_same_results_in_order(tmp_path: Path) -> None:
    host, plan_set = _two_disks(tmp_path, 4 << 20)
    updates: list[int] = []

    class Counting(SignalOnFirstUpdate):
        def update(self, n: int) -> None:
            updates.append(n)

    results, errors = plan_set.execute(
        host, StateDir(str(tmp_path / "state")), all_methods(), processes=True, progress=lambda i: Counting()
    )
    assert errors == []
    assert [r.device["path"] for r in results] == [p.device.path for p in plan_set]
    assert [r.status for r in results] == ["verified", "verified"]
    assert all(r.verification.bytes_checked == 4 << 20 for r in results)
    for plan in plan_set:  # written by the workers, seen here
        assert Path(plan.device.path).read_bytes() == bytes(4 << 20)
    assert sum(updates) == 2 * 2 * (4 << 20)  # the workers' progress reached the displays: write + verify
    assert host.opened == []  # every open was in a worker


@pytest.mark.parametrize(("how", "ended"), [("kill", "was killed by SIGKILL"), ("exit", "exited with status 3")])
def test_a_worker_that_dies_gives_its_device_a_failed_result(tmp_path: Path, how: str, ended: str) -> None:
    host = DiesOnOpen(str(tmp_path / "b.img"), how)
    plan_set = _two_disks_on(host, tmp_path, 4 << 20)
    results, errors = plan_set.execute(host, StateDir(str(tmp_path / "state")), all_methods(), processes=True)
    assert errors == []
    assert [r.device["path"] for r in results] == [p.device.path for p in plan_set]
    ok, lost = results
    assert ok.status == "verified"
    assert lost.status == "failed" and lost.failure is not None
    assert lost.failure.error == "WorkerLost" and not lost.failure.internal
    assert lost.failure.message == f"the process erasing {tmp_path / 'b.img'} {ended} before it reported a result"
    assert lost.to_dict()["status"] == "failed"


def test_a_refusal_in_a_worker_is_the_commands_own_error(tmp_path: Path) -> None:
    host = DiesOnOpen(str(tmp_path / "b.img"), "refuse")
    plan_set = _two_disks_on(host, tmp_path, 4 << 20)
    results, errors = plan_set.execute(host, StateDir(str(tmp_path / "state")), all_methods(), processes=True)
    assert [r.status for r in results] == ["verified"]
    assert len(errors) == 1 and isinstance(errors[0], Refused)
    assert errors[0].one_line() == f"{tmp_path / 'b.img'}: held exclusively by another program (close it)"


class DiesWhileWriting(FakeHost):
    """A host on which the process writing `victim` is killed at its second write."""

    def __init__(self, victim: str) -> None:
        super().__init__()
        self.victim, self.parent = victim, os.getpid()

    def open_device(self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False) -> Any:
        opened = super().open_device(path, write=write, direct=direct, exclusive=exclusive)
        if path != self.victim or os.getpid() == self.parent:
            return opened
        writes = [0]
        real = opened.write_at

        def write_at(buf: memoryview, offset: int) -> None:
            writes[0] += 1
            if writes[0] == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            real(buf, offset)

        opened.write_at = write_at  # type: ignore[method-assign]
        return opened


def test_a_worker_killed_while_writing_fails_its_device_in_the_write_phase_and_keeps_its_journal(
    tmp_path: Path,
) -> None:
    victim = str(tmp_path / "b.img")
    host = DiesWhileWriting(victim)
    plan_set = _two_disks_on(host, tmp_path, 16 << 20)
    state = StateDir(str(tmp_path / "state"))
    results, errors = plan_set.execute(host, state, all_methods(), processes=True)
    assert errors == []
    ok, lost = results
    assert ok.status == "verified"
    assert lost.status == "failed" and lost.failure is not None
    assert lost.failure.phase == "write" and lost.failure.error == "WorkerLost"
    assert lost.phases["write"].status == "failed" and lost.phases["verify"].status == "not reached"
    assert any(n.startswith("the journal of this run is kept; continue with:") for n in lost.notes), lost.notes
    journals = list((tmp_path / "state" / "journal").glob("*.json"))
    assert len(journals) == 1  # the verified device's journal is gone, the lost one's is kept
    assert "killed by SIGKILL" in json.loads(journals[0].read_text())["ended_with"]
