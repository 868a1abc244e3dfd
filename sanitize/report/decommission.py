"""`sanitize decommission`: the screen before confirmation, the outcome after (`sanitize.decommission/1`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sanitize.decommission import Decommission, exit_code, overall_status
from sanitize.enums import Status
from sanitize.erase.plan import resume_command
from sanitize.errors import ExitCode
from sanitize.purge.levels import standard_line
from sanitize.report.base import human_size
from sanitize.report.inventory import inventory_document, volume_lines, volumes_document

DECOMMISSION_SCHEMA = "sanitize.decommission/1"


@dataclass(frozen=True)
class DecommissionScreen:
    """What the operator reads before confirming: the AI data first, then the plan."""

    run: Decommission
    dry_run: bool
    width: int = 100  # the terminal's width, to wrap to

    def document(self) -> dict[str, Any]:
        return document(self.run, dry_run=self.dry_run)

    def text(self) -> str:
        return render_screen(self.run, dry_run=self.dry_run, width=self.width)


@dataclass(frozen=True)
class DecommissionOutcome:
    """What happened to each device, the certificates and the archive."""

    run: Decommission

    def document(self) -> dict[str, Any]:
        return document(self.run, dry_run=False)

    def text(self) -> str:
        return render_summary(self.run)


def render_screen(dc: Decommission, *, dry_run: bool, width: int = 100) -> str:
    lines: list[str] = []
    host = dc.host
    ident = " ".join(str(host.get(k)) for k in ("system_vendor", "product_name", "product_serial") if host.get(k))
    lines.append(f"sanitize decommission: host {host.get('hostname')}" + (f" ({ident})" if ident else ""))
    lines.append("")
    lines.append("AI DATA FOUND (read this first)")
    risky = [v for v in dc.volumes if v.artifact_count or v.encrypted]
    quiet = [v for v in dc.volumes if v not in risky]
    for report in risky:
        first, *rest = volume_lines(report, verbose=False, width=width - 4)
        lines.append(f"  ! {first.removeprefix('AI DATA: ')}")
        lines.extend(f"    {line}" for line in rest)
    for report in quiet:
        lines.extend(f"    {line}" for line in volume_lines(report, verbose=False, width=width - 4))
    if not dc.volumes:
        lines.append("    (no volumes scanned)")
    lines.append("")
    lines.append(
        f"PLAN: {len(dc.plans)} device(s) to sanitize" + (" (dry run: nothing will be written)" if dry_run else "")
    )
    for plan in dc.plans:
        dev = plan.device
        model = " ".join(p for p in (dev.vendor, dev.model) if p) or dev.type
        eta = f", about {plan.expected_seconds:.0f} s" if plan.expected_seconds is not None else ""
        lines.append(
            f"  {dev.path:<14} {model} {human_size(dev.size_bytes)} {dev.media_type}: "
            f"{plan.method} (NIST {plan.nist_level}){eta}; confirm as {dev.identity}"
        )
        lines.append(f"      why: {plan.reason}")
        lines.append(f"      standard: {standard_line(plan.method, plan.nist_level)}")
        for note in plan.notes:
            if note != plan.reason:
                lines.append(f"      note: {note}")
    if not dc.plans:
        lines.append("  (nothing)")
    if dc.blocked:
        lines.append("")
        lines.append("NOT SANITIZED BY THIS RUN")
        for item in dc.blocked:
            lines.append(f"  {item.device.path:<14} {item.why}")
            lines.append(f"      what to do: {item.advice}")
    if dc.excluded:
        lines.append("")
        lines.append("EXCLUDED (--exclude): " + ", ".join(d.path for d in dc.excluded))
    if dc.plans:
        lines.append("")
        lines.append("To sanitize, confirm with: --confirm " + ",".join(dc.identities))
    return "\n".join(lines)


def render_summary(dc: Decommission) -> str:
    lines = ["", "RESULT"]
    issued = {d.result_id: d for d in dc.issued}
    for result in dc.results:
        v = result.verification
        doc = issued.get(result.id)
        paper = f"{doc.kind} {doc.pdf_path}" if doc else "no certificate"
        lines.append(
            f"  {result.device['path']:<14} {result.status.upper()}: {result.method}, "
            f"verification {v.method} {v.outcome} ({v.coverage:.1%}); {paper}"
        )
        lines.extend(f"      error: {e.error}" for e in result.errors[:3])
    for item in dc.blocked:
        lines.append(f"  {item.device.path:<14} NOT SANITIZED: {item.why}; {item.advice}")
    if dc.summary_pdf:
        lines.append(f"  host summary: {dc.summary_pdf}")
    if dc.archive is not None:
        ok = "verified" if dc.archive.get("ok") else "DID NOT VERIFY"
        head = dc.archive.get("head") or {}
        anchor = f"; head {head.get('size')}:{head.get('root')}, record it outside this server" if head else ""
        lines.append(f"  archive: {dc.archive.get('path')} ({dc.archive.get('size')} entries, {ok}{anchor})")
    lines.extend(f"  problem: {p}" for p in dc.problems)
    lines.extend(f"  internal error: {p}" for p in dc.internal_errors if p not in " ".join(dc.problems))
    resume = "; ".join(
        resume_command(p, dc.state_dir)
        for p, r in zip(dc.plans, dc.results, strict=False)
        if r.status == Status.INTERRUPTED
    )
    verdict = {
        ExitCode.OK: "every planned device was sanitized and verified",
        ExitCode.INTERNAL: "INTERNAL ERROR (a bug, please report it): see the problems above; devices not "
        "VERIFIED are not sanitized",
        ExitCode.FAILED: "at least one device FAILED: it is not sanitized (see its failure report)",
        ExitCode.INTERRUPTED: f"INTERRUPTED: continue with: {resume}",
        ExitCode.NOT_VERIFIED: "devices verified, but certificates or the archive did not verify",
    }[exit_code(dc)]
    lines.append(f"  => {verdict}" + ("; the devices listed as NOT SANITIZED still hold data" if dc.blocked else ""))
    return "\n".join(lines)


def document(dc: Decommission, *, dry_run: bool) -> dict[str, Any]:
    code = (ExitCode.INTERNAL if dc.internal_errors else ExitCode.OK) if dry_run else exit_code(dc)
    return {
        "schema": DECOMMISSION_SCHEMA,
        "dry_run": dry_run,
        "status": overall_status(dc, dry_run=dry_run),
        "exit_code": int(code),
        "host": dc.host,
        "inventory": inventory_document(dc.tree, dc.host),
        "volumes": volumes_document(dc.volumes),
        "plans": [p.to_dict() | {"artifacts": dc.artifacts_on(p.device)} for p in dc.plans],
        "confirm_with": dc.identities,
        "not_sanitized": [b.to_dict() for b in dc.blocked],
        "excluded": [d.path for d in dc.excluded],
        "host_complete": not dc.blocked and code == ExitCode.OK,
        "results": [r.to_dict() for r in dc.results],
        "certificates": [d.to_dict() for d in dc.issued],
        "certificate_dir": dc.certificate_dir,
        "summary_pdf": dc.summary_pdf,
        "archive": dc.archive,
        "problems": dc.problems,
        "internal_errors": dc.internal_errors,
    }
