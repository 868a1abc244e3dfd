"""What the live image does on boot: `sanitize image run`, started by its /init.

1. Wait until no new disk has appeared for `settle` seconds (HBAs and USB find disks late).
2. Read the config partition (FAT, label SANITIZE), mounted read-only with the device set
   read-only: job.toml, config.toml (operator details), keys/, psids.txt, collect/.
3. The job (kernel command line over job.toml, see `sanitize.image.job`):
   - inventory: the device tree and the AI-artifact scan, printed on the console and, as the
     `sanitize.inventory/1` document, between the BEGIN/END lines; nothing is written to any
     disk (the config partition included); sent to the collection point if the job names one.
   - decommission: the organisation key from keys/ (or a fresh one, its fingerprint printed with
     a QR code), the one-screen report, the serials in the job as the confirmation, the erase,
     certificates, host summary and archive; results to results/<run>/ on the config partition
     and to the collection point.
   - console: the same, interactively on the console (the serials are typed, as on any server).
   - shell: a root shell.
4. Tell /init what to do next (power off, reboot, shell) in /run/sanitize-live/after.

The config partition and the disk it is on are protected (see `inventory.protect`), so the
only writes to any disk are the sanitization itself and the results on the config partition.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from sanitize import tool_identity
from sanitize.errors import ExitCode, Refused, SanitizeError
from sanitize.hw.host import Host
from sanitize.hw.mount import RUN_DIR, mount, mounted_readonly, umount
from sanitize.image import recipe
from sanitize.image.job import Job, build_job
from sanitize.inputs import read_input
from sanitize.inventory.host_identity import host_identity
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.probe import probe
from sanitize.state import StateDir, write_private
from sanitize.textsafe import json_safe

if TYPE_CHECKING:
    from sanitize.decommission import Decommission
    from sanitize.erase.method import MethodRegistry

# Confirm (the job's serials, or typed on the console) and run a prepared decommission.
Execute = Callable[["Decommission", Sequence[str], bool], ExitCode]

LIVE_RUN = "/run/sanitize-live"
AFTER_FILE = os.path.join(LIVE_RUN, "after")
BEGIN = "--- sanitize.inventory/1 begin ---"
END = "--- sanitize.inventory/1 end ---"
MAX_SETTLE_WAIT = 180.0
KEY_FILES = ("signer.pem", "signer.key", "signer.p12", "password")
COLLECT_FILES = ("id_ed25519", "known_hosts", "ca.pem")
REPORT_NAME = "report.html"  # and report.pdf: the server report (sanitize report) of the run


@dataclass
class Medium:
    """What the config partition holds (read once, read-only)."""

    device: Device | None = None
    job: str | None = None
    config: bytes | None = None
    keys: dict[str, bytes] = field(default_factory=dict)
    psids: str | None = None
    collect: dict[str, bytes] = field(default_factory=dict)


# --- finding things ------------------------------------------------------------------------------


def wait_for_devices(host: Host, settle: float, say: Callable[[str], None]) -> None:
    """Return once the set of block devices has not changed for `settle` seconds."""
    if settle <= 0:
        return
    started = last_change = time.monotonic()
    seen = set(host.list_sys("class", "block"))
    while time.monotonic() - last_change < settle:
        if time.monotonic() - started > MAX_SETTLE_WAIT:
            say(f"devices still appearing after {MAX_SETTLE_WAIT:.0f} s; going on")
            return
        time.sleep(0.5)
        now = set(host.list_sys("class", "block"))
        if now != seen:
            seen, last_change = now, time.monotonic()


def config_partition(tree: DeviceTree) -> Device | None:
    found = [d for d in tree if d.fstype == "vfat" and d.label == recipe.CONFIG_LABEL]
    # A partition of the stick we booted from wins over a stray one (its disk carries the ISO).
    found.sort(key=lambda d: (not _on_live_iso(tree, d), d.name))
    return found[0] if found else None


def _on_live_iso(tree: DeviceTree, dev: Device) -> bool:
    parent = tree.get(dev.parent) if dev.parent else None
    disk = parent if parent is not None else dev
    family = [disk, *tree.descendants(disk)]
    return any(d.fstype == "iso9660" and d.label == recipe.LIVE_LABEL for d in family)


def _read_optional(directory: str, name: str, what: str, limit: int = 1 << 20) -> bytes | None:
    path = os.path.join(directory, name)
    if not os.path.lexists(path):
        return None
    return read_input(path, what, limit=limit)


def read_medium(host: Host, tree: DeviceTree) -> Medium:
    dev = config_partition(tree)
    if dev is None:
        return Medium()
    medium = Medium(device=dev)
    with mounted_readonly(host, dev.path, "vfat") as top:
        job = _read_optional(top, "job.toml", "job file")
        medium.job = job.decode("utf-8", "replace") if job is not None else None
        medium.config = _read_optional(top, "config.toml", "config file")
        psids = _read_optional(top, "psids.txt", "PSID file")
        medium.psids = psids.decode("utf-8", "replace") if psids is not None else None
        for sub, names, into in (("keys", KEY_FILES, medium.keys), ("collect", COLLECT_FILES, medium.collect)):
            for name in names:
                data = _read_optional(os.path.join(top, sub), name, f"{sub}/{name}")
                if data is not None:
                    into[name] = data
    return medium


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class LiveRun:
    host: Host
    state: StateDir
    say: Callable[[str], None] = field(default=lambda m: click.echo(m, err=True))
    medium: Medium = field(default_factory=Medium)
    job: Job = field(default_factory=Job)
    results: str = ""  # local staging directory of this run's results (RAM)
    run_name: str = ""

    def start(self) -> Job:
        """Settle, read the config partition and the job; records what /init does afterwards."""
        cmdline = self.host.read_proc("cmdline")
        early = _early_settle(cmdline)
        self.say(f"sanitize {tool_identity().get('image', 'live image')[:16]}: waiting for disks to settle")
        wait_for_devices(self.host, early, self.say)
        try:
            self.medium = read_medium(self.host, probe(self.host))
            where = f" on {self.medium.device.path}" if self.medium.device else ""
            self.job = build_job(cmdline, self.medium.job, f"job.toml{where}")
        finally:
            _write_after(self.job.after)
        if self.job.settle > early:  # a longer wait asked for by the job file (slow HBAs)
            wait_for_devices(self.host, self.job.settle, self.say)
        self.say(f"job: {self.job.kind}" + "".join(f", {k} from {v}" for k, v in sorted(self.job.origin.items())))
        if self.medium.device is None:
            self.say(f"no config partition (FAT labelled {recipe.CONFIG_LABEL}): the job is the kernel command line")
        self.run_name = _run_name(host_identity(self.host))
        return self.job

    # -- inventory --
    def inventory(self) -> dict[str, Any]:
        from sanitize.inventory.volumes import scan_volumes
        from sanitize.report.inventory import InventoryReport

        tree = probe(self.host)
        reports = scan_volumes(self.host, tree, mount_unmounted=True, progress=self.say)
        report = InventoryReport(tree, host_identity(self.host), reports)
        self.say(report.text())
        doc = report.document()
        # ASCII only: a serial console may not pass UTF-8; json_safe as for `--json` (file names).
        text = json.dumps(json_safe(doc), indent=1, ensure_ascii=True)
        sys.stderr.flush()
        click.echo(f"{BEGIN}\n{text}\n{END}")
        sys.stdout.flush()
        return doc

    # -- decommission --
    def setup_keys(self) -> str:
        """The signing key: the organisation's from keys/, or a fresh one shown on the console."""
        from sanitize.certify import keys as keystore
        from sanitize.image.qrterm import render

        self.state.ensure()
        if self.medium.config is not None:
            write_private(self.state.file("config.toml"), self.medium.config)
        keys = self.medium.keys
        staged = tempfile.mkdtemp(prefix="keys-", dir=_private_run_dir())
        try:
            for name, data in keys.items():
                write_private(os.path.join(staged, name), data)
            password = keys["password"].rstrip(b"\r\n") if "password" in keys else None
            if "signer.p12" in keys:
                signer = keystore.import_pkcs12(
                    self.state, os.path.join(staged, "signer.p12"), password=password, force=True
                )
                origin = "the organisation key (keys/signer.p12)"
            elif "signer.pem" in keys and "signer.key" in keys:
                signer = keystore.import_pem(
                    self.state,
                    os.path.join(staged, "signer.pem"),
                    os.path.join(staged, "signer.key"),
                    password=password,
                    force=True,
                )
                origin = "the organisation key (keys/signer.pem)"
            else:
                org = self.job.org or "sanitize live image"
                signer = keystore.init_keys(self.state, org, force=True)
                origin = f"a FRESH key for {org!r}: record this fingerprint, it is what certificates verify against"
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        self.say(f"signing with {origin}")
        self.say(f"signer SHA-256 fingerprint: {signer.fingerprint}")
        self.say(render(f"sanitize-signer;sha256={signer.fingerprint}"))
        return signer.fingerprint

    def decommission(self, methods: MethodRegistry, execute: Execute, *, interactive: bool) -> ExitCode:
        """Plan with `methods`; `execute` confirms and runs the plans as `sanitize decommission` does."""
        from sanitize.decommission import prepare
        from sanitize.erase import EraseOptions
        from sanitize.purge.methods.tcg import parse_psid_file
        from sanitize.report.decommission import DecommissionOutcome, DecommissionScreen

        self._write_json("job.json", self._job_doc())
        self.setup_keys()
        psids = parse_psid_file(self.medium.psids, "psids.txt") if self.medium.psids is not None else None
        job = self.job
        dc = prepare(
            self.host,
            probe(self.host),
            methods,
            only=job.only,
            exclude=job.exclude,
            method=job.method,
            options=EraseOptions(verify=job.verify),
            psids=psids,
            progress=self.say,
        )
        self.say(DecommissionScreen(dc, dry_run=False).text())
        try:
            code = execute(dc, job.confirm, interactive)
        except Refused as exc:
            self.say(f"sanitize: refused: {exc.one_line()}")
            refused = DecommissionScreen(dc, dry_run=True).document() | {"refused": exc.one_line()}
            self._write_json("decommission.json", refused)
            self._stage_signer()
            self._write_report(dc, dry_run=True)
            return ExitCode.REFUSED
        outcome = DecommissionOutcome(dc)
        self.say(outcome.text())
        self._write_json("decommission.json", outcome.document())
        if dc.certificate_dir:
            shutil.copytree(dc.certificate_dir, os.path.join(self.results, "certificates"))
        from sanitize.certify.archive import Archive

        archive = Archive.of(self.state)
        if archive.exists():
            shutil.copytree(
                archive.path, os.path.join(self.results, "archive"), ignore=shutil.ignore_patterns(".lock", "*.tmp.*")
            )
        self._stage_signer()
        self._write_report(dc, dry_run=False)  # last: an unexpected failure here loses no record
        return code

    def _write_report(self, dc: Decommission, *, dry_run: bool) -> None:
        """The server report (report.html + report.pdf), linking to the certificates as copied into
        the results. It is for people: failing to write it is said, and never loses the results."""
        from sanitize.server_report import write_report

        copies = os.path.join(self.results, "certificates")
        try:
            write_report(dc, os.path.join(self.results, REPORT_NAME), dry_run=dry_run, certificates_copied_to=copies)
        except (OSError, SanitizeError) as exc:  # RAM full: the certificates are the record, not this view
            self.say(f"sanitize: the server report was not written: {exc}")

    def record_error(self, line: str) -> None:
        write_private(os.path.join(self.results, "error.txt"), (line + "\n").encode())

    def _stage_signer(self) -> None:
        from sanitize.certify import keys as keystore

        cert = keystore.load_signer_cert(self.state)
        if cert is not None:
            write_private(os.path.join(self.results, "signer.pem"), keystore.cert_pem(cert))

    def _job_doc(self) -> dict[str, Any]:
        medium = self.medium.device.path if self.medium.device else None
        return {
            "schema": "sanitize.live-job/1",
            "tool": tool_identity(),
            "job": self.job.to_dict(),
            "config_partition": medium,
            "run": self.run_name,
        }

    def _write_json(self, name: str, doc: dict[str, Any]) -> None:
        write_private(os.path.join(self.results, name), (json.dumps(json_safe(doc), indent=2) + "\n").encode())

    # -- results --
    def save_results(self) -> str | None:
        """Copy this run's results to results/<run>/ on the config partition; returns that path."""
        dev = self.medium.device
        if dev is None or not self.results:
            return None
        target = tempfile.mkdtemp(prefix="config-", dir=_private_run_dir())
        mount(self.host, dev.path, target, fstype="vfat", options="rw,nosuid,nodev,noexec,noatime,flush,umask=077")
        try:
            dest = os.path.join(target, "results", self.run_name)
            shutil.copytree(self.results, dest, copy_function=shutil.copyfile)
            os.sync()
        finally:
            umount(self.host, target)
            os.rmdir(target)
        where = f"{dev.path}:results/{self.run_name}"
        self.say(f"results written to {where}")
        return where

    def deliver(self) -> None:
        """Results to the config partition and the collection point, each tried whatever the
        other did. When neither took them they exist only in RAM: the machine stays on."""
        delivered = False
        for step in (self.save_results, self.collect):
            try:
                delivered = bool(step()) or delivered
            except (SanitizeError, OSError) as exc:
                message = exc.one_line() if isinstance(exc, SanitizeError) else str(exc)
                self.say(f"sanitize: error: {message}")
        if not delivered and self.results:
            self.say(f"RESULTS ONLY IN RAM, in {self.results}: copy them off before powering off (shell follows)")
            _write_after("shell")

    def collect(self, doc: dict[str, Any] | None = None) -> bool:
        """Send the results (or, for an inventory, the document alone) to the collection point."""
        if not self.job.collect:
            return False
        from sanitize.image.collect import send

        if doc is not None:  # inventory: staged in RAM only, never on a disk
            self.results = tempfile.mkdtemp(prefix="results-", dir=_private_run_dir())
            self._write_json("job.json", self._job_doc())
            self._write_json("inventory.json", doc)
        if not self.results or not os.listdir(self.results):
            self.say("collection: nothing to send")
            return False
        send(self.host, self.job.collect, self.results, self.run_name, self.medium.collect, say=self.say)
        return True


def run(host: Host, state: StateDir, methods: MethodRegistry, execute: Execute, say: Callable[[str], None]) -> ExitCode:
    """The whole boot job. `execute` is the command line's confirm-and-run of a decommission
    (sanitize.cli.decommission.run_decommission), handed in so this module stays below the CLI."""
    live = LiveRun(host=host, state=state, say=say)
    job = live.start()
    if job.kind == "shell":
        _write_after("shell")
        return ExitCode.OK
    if job.kind == "inventory":
        doc = live.inventory()
        live.collect(doc)
        return ExitCode.OK
    live.results = tempfile.mkdtemp(prefix="results-", dir=_private_run_dir())
    code = ExitCode.INTERNAL
    try:
        code = live.decommission(methods, execute, interactive=job.interactive)
    except SanitizeError as exc:
        code = exc.exit_code
        live.say(f"sanitize: error: {exc.one_line()}")
        live.record_error(exc.one_line())
    except Exception as exc:
        # An unexpected failure still leaves its trace where the operator looks (never content).
        live.record_error(f"internal error: {type(exc).__name__}: {exc}")
        raise
    finally:
        # Whatever happened, what was done is recorded where the operator will look.
        live.deliver()
    if job.interactive:
        _ask_after(live.say)
    return code


# --- helpers -----------------------------------------------------------------------------------------


def _early_settle(cmdline: str) -> float:
    """`sanitize.settle` from the command line, before the job file can be read."""
    match = re.search(r"(?:^|\s)sanitize\.settle=([0-9.]+)(?:\s|$)", cmdline)
    try:
        return float(match.group(1)) if match else Job().settle
    except ValueError:
        return Job().settle


def _write_after(action: str) -> None:
    os.makedirs(LIVE_RUN, exist_ok=True)
    with open(AFTER_FILE, "w") as fh:
        fh.write(action + "\n")


def _ask_after(say: Callable[[str], None]) -> None:
    choice = click.prompt(
        "Done. Power off, reboot or open a shell?",
        type=click.Choice(["poweroff", "reboot", "shell"]),
        default="poweroff",
        err=True,
    )
    _write_after(choice)


def _private_run_dir() -> str:
    path = os.path.join(RUN_DIR, "live")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _run_name(identity: dict[str, str | None]) -> str:
    """`<server serial>-<UTC time>`: the server's own serial (DMI), else its UUID, else a name."""
    who = identity.get("product_serial") or identity.get("product_uuid") or identity.get("hostname")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(who)).strip("_")[:48] or "host"
    return f"{safe}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
