"""One-command decommissioning of a whole server: inventory, plan, confirm, erase, certify.

The workflow, in the order an operator lives it:

1. `prepare`: given the inventory of every device, scan every volume for AI artifacts (unmounted ones
   read-only, see `sanitize.inventory.volumes`), and plan every whole disk that is not
   protected. Devices that cannot be sanitized from here (the disk the running system is
   on, anything mounted or held) are listed with what to do instead. Nothing is written.
2. the screen (sanitize.report.decommission): ONE screen, the AI data found per volume
   first (what is at stake), then the plan and what will NOT be sanitized.
3. `check_confirmation`: one confirmation that names the serials (kernel names for
   devices without one); the set typed or given with `--confirm` must be exactly the set
   of devices to be erased, so a stale script cannot erase a disk it did not name.
4. `execute`: every device in parallel (the erase runner, one progress bar each), then
   certificates or failure reports for each, a host summary PDF, and a check of the archive.

`--dry-run` stops after step 2 and writes nothing, not even the state directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from sanitize.certify.archive import Archive, trusted_for
from sanitize.certify.issue import IssuedDocument, issue_for_result, issue_host_summary
from sanitize.certify.keys import have_keys
from sanitize.enums import DeviceType, PhaseStatus, Status
from sanitize.erase import EraseOptions, EraseResult, ErrorRange, MethodRegistry, Plan, Planning, build_plan, new_result
from sanitize.erase.planset import PlanSet
from sanitize.erase.record import record_result
from sanitize.erase.result import Failure, device_identity
from sanitize.erase.runner import error_message
from sanitize.errors import BadInput, ExitCode, Refused, SanitizeError
from sanitize.hw.host import Host
from sanitize.inventory import protect
from sanitize.inventory.host_identity import host_identity
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.volumes import MEMBERS, VolumeReport, scan_volumes
from sanitize.purge.methods.tcg import psid_for
from sanitize.state import StateDir

TARGET_TYPES = (DeviceType.DISK, DeviceType.LOOP)  # whole devices; a partition only when named with --only
NOT_STORAGE = (DeviceType.ROM,)
LIVE_MEDIUM = "boot a live medium (USB/PXE) on this server and run the same command from there"
OWN_MEDIUM = "none: it is the live medium this image booted from; remove it when the job is done"


@dataclass(frozen=True)
class Blocked:
    """A device that will not be sanitized by this run, and what the operator should do."""

    device: Device
    why: str
    advice: str

    def to_dict(self) -> dict[str, Any]:
        d = self.device
        return {"path": d.path, "name": d.name, "identity": d.identity, "why": self.why, "advice": self.advice}


@dataclass
class Decommission:
    host: dict[str, Any]
    tree: DeviceTree
    volumes: list[VolumeReport]
    plans: list[Plan]
    blocked: list[Blocked]
    excluded: list[Device]
    results: list[EraseResult] = field(default_factory=list)
    issued: list[IssuedDocument] = field(default_factory=list)
    summary_pdf: str | None = None
    archive: dict[str, Any] | None = None
    certificate_dir: str | None = None
    problems: list[str] = field(default_factory=list)
    # Unexpected exceptions (bugs) outside a device's erase: planning, certificates, the
    # summary, the archive check. Any of them makes the exit code 1.
    internal_errors: list[str] = field(default_factory=list)
    state_dir: str = ""  # where this run's journals are (named in resume commands)

    @property
    def identities(self) -> list[str]:
        return [p.device.identity for p in self.plans]

    def volumes_on(self, dev: Device) -> list[VolumeReport]:
        paths = {dev.path, *(d.path for d in self.tree.descendants(dev))}
        return [v for v in self.volumes if v.device in paths]

    def artifacts_before(self, dev: Device) -> dict[str, Any]:
        """For the certificate: counts per category, and which volumes could be read at all."""
        volumes = []
        for report in self.volumes_on(dev):
            state = "scanned" if report.scanned else "encrypted" if report.encrypted else "not-scanned"
            if report.fstype in MEMBERS:
                state = "member"
            why = f"encrypted ({report.encrypted})" if report.encrypted else report.note
            volumes.append(
                {
                    "device": report.device,
                    "fstype": report.fstype,
                    "state": state,
                    "why": None if report.scanned else why,
                    "files_seen": report.files_seen,
                }
            )
        return {"categories": self.artifacts_on(dev), "volumes": volumes}

    def artifacts_on(self, dev: Device) -> dict[str, dict[str, int]]:
        """Counts and bytes per category over every volume on `dev` (for its certificate)."""
        total: dict[str, dict[str, int]] = {}
        for report in self.volumes_on(dev):
            for category, entry in report.summary.items():
                slot = total.setdefault(category, {"count": 0, "bytes": 0})
                slot["count"] += int(entry.get("count", 0))
                slot["bytes"] += int(entry.get("bytes", 0))
        return dict(sorted(total.items()))


# --- 1. prepare -----------------------------------------------------------------------


def select(tree: DeviceTree, names: Sequence[str]) -> list[Device]:
    """Devices named by path, kernel name, serial or WWN; unknown names are bad input."""
    out = []
    for name in names:
        dev = tree.get(name) or tree.get(os.path.realpath(name))
        if dev is None:
            raise BadInput(f"{name}: not a block device known to this machine (see `sanitize inventory`)")
        out.append(dev)
    return out


def advice_for(dev: Device) -> str:
    reasons = " ".join(dev.protected_reasons)
    if protect.LIVE_MEDIUM in reasons:
        return OWN_MEDIUM
    if any(word in reasons for word in ("running", "runs from", "running system")):
        return LIVE_MEDIUM
    steps = []
    if "mounted at" in reasons:
        steps.append("stop what uses it and unmount it")
    if "active swap" in reasons:
        steps.append("swapoff it")
    if "held open by" in reasons:
        steps.append("close what is built on it (cryptsetup close, vgchange -an, mdadm --stop)")
    if "in use by another program" in reasons:
        steps.append("stop the program holding it")
    if not steps:
        return LIVE_MEDIUM
    return ", ".join(steps) + f", then run the same command (or {LIVE_MEDIUM})"


def prepare(
    host: Host,
    full: DeviceTree,
    methods: MethodRegistry,
    *,
    only: Sequence[str] = (),
    exclude: Sequence[str] = (),
    method: str = "auto",
    options: EraseOptions | None = None,
    psids: Mapping[str, str] | None = None,
    scan: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Decommission:
    """Artifact scan and plans (with `methods`) for the inventory `full` of `host`; writes nothing anywhere.

    `psids`: PSIDs of self-encrypting drives by serial (or path, or kernel name), which lets
    the planner choose their TCG PSID revert (see purge/methods/tcg.py).
    """
    options = options or EraseOptions()
    named = select(full, only)
    excluded = select(full, exclude)
    excluded_paths = {p for d in excluded for p in (d.path, *(x.path for x in full.descendants(d)))}
    if named:
        keep = {p for d in named for p in (d.path, *(x.path for x in full.descendants(d)))}
        candidates = [full.get(p) for p in dict.fromkeys(d.path for d in named)]
    else:
        keep = {d.path for d in full}
        candidates = [d for d in full.roots() if d.type in TARGET_TYPES]
    tree = DeviceTree(tuple(d for d in full if d.path in keep and d.path not in excluded_paths))
    planning = Planning(host, full, methods)
    plans: list[Plan] = []
    blocked: list[Blocked] = []
    internal: list[str] = []
    for dev in candidates:
        if dev is None or dev.path in excluded_paths:
            continue
        if dev.type in NOT_STORAGE or dev.size_bytes == 0:
            if named:
                blocked.append(Blocked(dev, f"{dev.type} device, nothing to sanitize", "none needed"))
            continue
        if dev.protected:
            blocked.append(Blocked(dev, "protected: " + "; ".join(dev.protected_reasons), advice_for(dev)))
            continue
        if dev.read_only:
            advice = "clear the write protection (switch, or `blockdev --setrw`), then run the same command"
            blocked.append(Blocked(dev, "read-only", advice))
            continue
        try:
            psid = psid_for(dev, psids or {})
            dev_options = replace(options, firmware=replace(options.firmware, psid=psid)) if psid else options
            plans.append(build_plan(planning, dev.path, method, dev_options))
        except SanitizeError as exc:
            blocked.append(Blocked(dev, exc.one_line(), "see `sanitize plan` for this device"))
        except Exception as exc:  # a bug while planning one device: the others are still planned
            why = f"internal error while planning: {_describe(exc)}"
            blocked.append(Blocked(dev, why, f"report this bug; see `sanitize -vv plan {dev.path}`"))
            internal.append(f"{dev.path}: {why}")
    plan_set, refused = PlanSet.build(full, plans)
    plans = list(plan_set)
    blocked += [Blocked(plan.device, why, "see `sanitize plan` for this device") for plan, why in refused]
    # Without the scan the volumes are still described (encrypted, RAID/LVM member), never opened.
    volumes = scan_volumes(host, tree, mount_unmounted=host.is_root(), scan=scan, progress=progress)
    return Decommission(
        host=host_identity(host),
        tree=tree,
        volumes=volumes,
        plans=plans,
        blocked=blocked,
        excluded=[d for d in excluded if d.path in {x.path for x in full}],
        internal_errors=internal,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {error_message(exc)}"


# --- 3. confirmation ----------------------------------------------------------------------


def parse_identities(values: Sequence[str]) -> list[str]:
    return [v for value in values for v in value.replace(",", " ").split() if v]


def check_confirmation(dc: Decommission, values: Sequence[str]) -> None:
    """Refuse unless `values` name exactly the devices to be erased (any order)."""
    given = parse_identities(values)
    expected = set(dc.identities)
    if not given:
        raise Refused("not confirmed: give the serials (kernel names when none) of every device to erase")
    unknown = sorted(set(given) - expected)
    missing = len(expected - set(given))
    if unknown:
        raise Refused(f"not confirmed: {', '.join(unknown)} is not among the devices planned for erasure")
    if missing:
        raise Refused(f"not confirmed: {missing} device(s) of the plan were not named; nothing was written")


# --- 4. execution ---------------------------------------------------------------------------

Runner = Callable[[Sequence[Plan]], tuple[list[EraseResult], list[SanitizeError]]]


def execute(dc: Decommission, *, state: StateDir, host: Host, run_all: Runner) -> None:
    """Erase every planned device in parallel, then certify and check the archive.

    Each step after the erase is guarded on its own: a device whose certificate cannot be
    issued, a summary or an archive check that raises, or a full state directory is
    recorded (`problems`, and `internal_errors` for unexpected exceptions) and the other
    devices and steps still go on; nothing here ends the run without a report.
    """
    if not have_keys(state):
        raise BadInput(f"no signing key in {state.path}", hint="run `sanitize keys init --org NAME` first")
    state.ensure()
    dc.state_dir = state.path
    results, errors = run_all(dc.plans)
    done = {r.device["path"] for r in results}
    for plan in dc.plans:
        if plan.device.path not in done:
            results.append(_not_started(plan, host, errors))
    order = {p.device.path: i for i, p in enumerate(dc.plans)}
    dc.results = sorted(results, key=lambda r: order.get(r.device["path"], 0))
    for result in dc.results:
        if result.failure and result.failure.internal:
            dc.internal_errors.append(result.failure.one_line(result.device["path"]))
        _guard(dc, f"{result.device['path']}: result not saved", partial(_save, state, result))
    run_id = uuid.uuid4().hex[:12]

    def certificate_dir() -> None:
        dc.certificate_dir = state.sub("certificates", f"decommission-{run_id}")

    _guard(dc, "certificate directory", certificate_dir)
    for plan, result in zip(dc.plans, dc.results, strict=True):

        def issue(plan: Plan = plan, result: EraseResult = result) -> None:
            dc.issued.append(
                issue_for_result(
                    result,
                    state=state,
                    artifacts_before=dc.artifacts_before(plan.device),
                    output_dir=dc.certificate_dir,
                )
            )

        _guard(dc, f"{result.device['path']}: no certificate", issue)

    def summary() -> None:
        dc.summary_pdf = issue_host_summary(
            dc.results,
            state=state,
            issued=dc.issued,
            output_dir=dc.certificate_dir,
            not_sanitized=[{"device": device_identity(b.device), "why": b.why, "advice": b.advice} for b in dc.blocked],
        )

    _guard(dc, "host summary", summary)

    def check_archive() -> None:
        report = Archive.of(state).verify(trusted_for(state, None))
        dc.archive = report.to_dict() | {"path": Archive.of(state).path}
        if not report.ok:
            dc.problems.extend(f"archive: {p}" for p in report.problems)

    _guard(dc, "archive", check_archive)


def _save(state: StateDir, result: EraseResult) -> None:
    record_result(state, result.to_dict())  # with its tag: the only results `cert issue` accepts


def _guard(dc: Decommission, what: str, step: Callable[[], None]) -> None:
    """Run one post-erase step; its failure is a recorded problem, never the end of the run."""
    try:
        step()
    except SanitizeError as exc:
        dc.problems.append(f"{what}: {exc.one_line()}")
    except OSError as exc:  # e.g. ENOSPC in the state directory: not a bug, but not done either
        dc.problems.append(f"{what}: {_describe(exc)}")
        dc.internal_errors.append(f"{what}: {_describe(exc)}")
    except Exception as exc:
        dc.problems.append(f"{what}: internal error: {_describe(exc)}")
        dc.internal_errors.append(f"{what}: {_describe(exc)}")


def _not_started(plan: Plan, host: Host, errors: Sequence[SanitizeError]) -> EraseResult:
    """A failed result for a device refused before anything was written to it."""
    result = new_result(plan, host)
    error = next((e for e in errors if plan.device.path in e.one_line()), errors[0] if errors else None)
    why = error.one_line() if error is not None else "the erase did not start"
    result.errors.append(ErrorRange(0, plan.device.size_bytes, f"not erased: {why}"))
    result.failure = Failure("start", type(error).__name__ if error is not None else "NotStarted", why, False)
    result.mark("start", PhaseStatus.FAILED, f"refused before anything was written (0 bytes): {why}")
    return result.finish()


def exit_code(dc: Decommission) -> ExitCode:
    if dc.internal_errors:
        return ExitCode.INTERNAL
    statuses = {r.status for r in dc.results}
    if Status.FAILED in statuses or Status.UNVERIFIED in statuses:
        return ExitCode.FAILED
    if Status.INTERRUPTED in statuses:
        return ExitCode.INTERRUPTED
    if dc.problems:
        return ExitCode.NOT_VERIFIED
    return ExitCode.OK


def overall_status(dc: Decommission, *, dry_run: bool) -> str:
    if dry_run:
        return "planned"
    code = exit_code(dc)
    if code == ExitCode.INTERNAL:
        # Every device verified, but a later step (a certificate, the summary, the archive)
        # failed: the devices are clean, the paperwork is not.
        verified = dc.results and all(r.status == Status.VERIFIED for r in dc.results)
        return "not-verified" if verified else "failed"
    return {
        ExitCode.OK: "verified",
        ExitCode.FAILED: "failed",
        ExitCode.INTERRUPTED: "interrupted",
        ExitCode.NOT_VERIFIED: "not-verified",
    }.get(code, "failed")
