"""A throw-away QEMU (TCG) guest with emulated NVMe, SATA and SCSI disks, for tests that need the
kernel drivers this host lacks (nvme, ahci, virtio-scsi, md, device-mapper).

The guest boots Debian's generic kernel with a busybox initramfs, mounts the host root read-only over
virtio-9p and chroots into it, so the host's Python, the project venv, udev and the storage tools run
against the emulated disks. One directory (the run directory) is shared read-write; the command's
output, exit status and anything the tests write (junit XML) come back through it.

Run from the command line for a quick look: `python -m tests.vm.harness -- lsblk -o NAME,SERIAL,TRAN`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sanitize.image.cpio import NewcWriter

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
INIT_SCRIPT = HERE / "init.sh"

# Not under /tmp: the guest mounts a tmpfs there, and CI machines keep /var/tmp between steps.
DEFAULT_CACHE = Path(os.environ.get("SANITIZE_VM_CACHE", "/var/tmp/sanitize-vm-cache"))
DEFAULT_TIMEOUT = float(os.environ.get("SANITIZE_VM_TIMEOUT", "280"))

# Loaded in this order (each with its dependencies first) by the guest's /init.
GUEST_MODULES = (
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "nvme",
    "ahci",
    "virtio_scsi",
    "sd_mod",
    "sg",
    "loop",
    "ext4",
    "dm-mod",
    "dm-crypt",
    "md-mod",
    "raid1",
    "xts",
    "aesni-intel",
    "essiv",
    "sha256-ssse3",
    "algif_skcipher",
    "algif_hash",
)

RC_HARNESS_FAILURE = 125
RC_TIMEOUT = 124


class LabError(RuntimeError):
    """The lab could not be built or the guest could not be started (never a test's own failure)."""


# --- disk topology ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NvmeNamespace:
    nsid: int
    size_mib: int
    # 16 hex digits, reported by Identify Namespace. The guest kernel ignores QEMU's namespace IDs
    # (NVME_QUIRK_BOGUS_NID), so the WWN it shows is `nvme.1b36-<serial>-<model>-<nsid>` instead.
    eui64: str


@dataclass(frozen=True)
class NvmeController:
    id: str  # QEMU device id, also the image-file prefix
    serial: str
    namespaces: tuple[NvmeNamespace, ...]


@dataclass(frozen=True)
class PlainDisk:
    """A SATA (AHCI ide-hd) or virtio-SCSI (scsi-hd) disk."""

    id: str
    bus: str  # "sata" or "scsi"
    size_mib: int
    serial: str
    model: str
    wwn: str  # 16 hex digits (NAA), without 0x
    role: str = ""  # what the guest tests use it for; documentation only


@dataclass(frozen=True)
class Topology:
    nvme: tuple[NvmeController, ...]
    disks: tuple[PlainDisk, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


# Serials start with SANTEST so a test can never mistake a real disk for a lab disk.
DEFAULT_TOPOLOGY = Topology(
    nvme=(
        NvmeController(
            id="nvme0",
            serial="SANTESTNVME0",
            namespaces=(
                NvmeNamespace(nsid=1, size_mib=32, eui64="5a4e000000000101"),
                NvmeNamespace(nsid=2, size_mib=16, eui64="5a4e000000000102"),
            ),
        ),
        NvmeController(
            id="nvme1",
            serial="SANTESTNVME1",
            namespaces=(NvmeNamespace(nsid=1, size_mib=32, eui64="5a4e000000000201"),),
        ),
    ),
    disks=(
        PlainDisk("sata0", "sata", 32, "SANTESTSATA0", "SanTest SATA SSD", "5000c50000000a01", "standalone"),
        PlainDisk("sata1", "sata", 64, "SANTESTSATA1", "SanTest SATA SSD", "5000c50000000a02", "raid1-a"),
        PlainDisk("scsi0", "scsi", 32, "SANTESTSCSI0", "SanTest SAS HDD", "5000c50000000b01", "standalone"),
        PlainDisk("scsi1", "scsi", 64, "SANTESTSCSI1", "SanTest SAS HDD", "5000c50000000b02", "raid1-b"),
        PlainDisk("scsi2", "scsi", 24, "SANTESTSCSI2", "SanTest SAS HDD", "5000c50000000b03", "cache"),
    ),
)


def qemu_disk_args(topology: Topology, image_dir: Path) -> list[str]:
    """QEMU arguments for every disk; creates the sparse backing images in `image_dir`."""
    args: list[str] = []

    def image(name: str, size_mib: int) -> str:
        path = image_dir / f"{name}.img"
        with open(path, "wb") as fh:
            fh.truncate(size_mib * 1024 * 1024)
        return str(path)

    for ctrl in topology.nvme:
        args += ["-device", f"nvme,id={ctrl.id},serial={ctrl.serial}"]
        for ns in ctrl.namespaces:
            drive = f"d{ctrl.id}n{ns.nsid}"
            args += ["-drive", f"file={image(drive, ns.size_mib)},if=none,id={drive},format=raw"]
            args += [
                "-device",
                f"nvme-ns,drive={drive},bus={ctrl.id},nsid={ns.nsid},eui64=0x{ns.eui64}",
            ]
    sata_port = 0
    scsi_bus_added = False
    for disk in topology.disks:
        drive = f"d{disk.id}"
        args += ["-drive", f"file={image(drive, disk.size_mib)},if=none,id={drive},format=raw"]
        # QEMU splits -device options on commas; a model must not contain one.
        if "," in disk.model or "," in disk.serial:
            raise LabError(f"commas are not allowed in disk model/serial: {disk}")
        if disk.bus == "sata":
            # q35's built-in AHCI controller exposes ports ide.0 .. ide.5.
            args += [
                "-device",
                f"ide-hd,drive={drive},bus=ide.{sata_port},serial={disk.serial},"
                f"model={disk.model},wwn=0x{disk.wwn},rotation_rate=1",
            ]
            sata_port += 1
        elif disk.bus == "scsi":
            if not scsi_bus_added:
                args += ["-device", "virtio-scsi-pci,id=vscsi"]
                scsi_bus_added = True
            vendor, _, product = disk.model.partition(" ")
            args += [
                "-device",
                f"scsi-hd,drive={drive},bus=vscsi.0,serial={disk.serial},vendor={vendor[:8]},"
                f"product={product[:16]},wwn=0x{disk.wwn},rotation_rate=7200",
            ]
        else:
            raise LabError(f"unknown bus {disk.bus!r}")
    return args


# --- kernel and initramfs (cached) -----------------------------------------------------------------


@dataclass(frozen=True)
class BootAssets:
    kernel: Path
    initrd: Path
    kernel_version: str


def _run(argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), check=True, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} is not installed (see docs/test-lab.md)") from exc
    except subprocess.CalledProcessError as exc:
        raise LabError(f"{shlex.join(argv)} failed (rc {exc.returncode}): {exc.stderr.strip()}") from exc


def kernel_package() -> str:
    """The versioned package behind Debian's `linux-image-amd64` metapackage (generic flavour: it has
    9p, AHCI and NVMe as modules; the cloud flavour lacks AHCI and 9p)."""
    override = os.environ.get("SANITIZE_VM_KERNEL_PACKAGE")
    if override:
        return override
    for attempt in range(2):
        try:
            out = _run(["apt-cache", "depends", "linux-image-amd64"]).stdout
        except LabError:
            out = ""
        match = re.search(r"Depends:\s*(linux-image-\S+-amd64)", out)
        if match:
            return match.group(1)
        if attempt == 0 and os.geteuid() == 0:
            # A fresh CI machine whose packages were preinstalled may have no package lists yet.
            _run(["apt-get", "update", "-q"])
    raise LabError("cannot resolve linux-image-amd64 with apt-cache (no Debian package lists?)")


def _find_or_download_deb(package: str, dl_dir: Path) -> Path:
    for where in (dl_dir, Path("/var/cache/apt/archives")):
        found = sorted(where.glob(f"{package}_*_amd64.deb"))
        if found:
            return found[-1]
    dl_dir.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", "-q", package], cwd=str(dl_dir))
    found = sorted(dl_dir.glob(f"{package}_*_amd64.deb"))
    if not found:
        raise LabError(f"apt-get download {package} produced no .deb in {dl_dir}")
    return found[-1]


def _module_load_order(root: Path, kver: str) -> list[str]:
    """Relative .ko paths in dependency order, from modprobe's own resolver."""
    order: list[str] = []
    prefix = f"{root}/lib/modules/{kver}/"
    for module in GUEST_MODULES:
        out = _run(["modprobe", "-d", str(root), "-S", kver, "--show-depends", module]).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "insmod":
                rel = parts[1].removeprefix(prefix)
                if rel not in order:
                    order.append(rel)
    return order


def _build_initramfs(kroot: Path, kver: str, out: Path) -> None:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).exists():
        raise LabError("busybox is not installed (apt-get install busybox-static)")
    order = _module_load_order(kroot, kver)
    buffer = io.BytesIO()
    cpio = NewcWriter(buffer)
    dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "run", "tmp", "host", "lib"}
    for ko in order:
        parent = Path("lib/modules") / Path(ko).parent
        while str(parent) not in (".", ""):
            dirs.add(str(parent))
            parent = parent.parent
    for d in sorted(dirs, key=lambda p: (p.count("/"), p)):
        cpio.directory(d)
    cpio.file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    cpio.file("init", INIT_SCRIPT.read_bytes(), 0o755)
    cpio.file("modules.order", ("\n".join(order) + "\n").encode())
    for ko in order:
        cpio.file(f"lib/modules/{ko}", (kroot / "lib/modules" / kver / ko).read_bytes())
    cpio.finish()
    tmp = out.with_suffix(".part")
    tmp.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=1))
    tmp.replace(out)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialises cache builds between concurrent test sessions on one machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def boot_assets(cache: Path = DEFAULT_CACHE, log: io.TextIOBase | None = None) -> BootAssets:
    """The kernel and initramfs, built once and cached; rebuilt when the kernel package, the module
    list or init.sh change."""
    package = kernel_package()
    recipe = hashlib.sha256(json.dumps([package, GUEST_MODULES, INIT_SCRIPT.read_text()]).encode()).hexdigest()[:16]
    dest = cache / recipe
    kernel, initrd, kver_file = dest / "vmlinuz", dest / "initrd.gz", dest / "kver"
    with _locked(cache / ".lock"):
        if kernel.exists() and initrd.exists() and kver_file.exists():
            return BootAssets(kernel, initrd, kver_file.read_text().strip())
        started = time.monotonic()
        deb = _find_or_download_deb(package, cache / "dl")
        work = Path(tempfile.mkdtemp(prefix="kernel-", dir=cache))
        try:
            _run(["dpkg-deb", "-x", str(deb), str(work)])
            kvers = sorted(p.name for p in (work / "lib/modules").iterdir())
            if len(kvers) != 1:
                raise LabError(f"expected one kernel in {deb}, found {kvers}")
            kver = kvers[0]
            _run(["depmod", "-b", str(work), kver])
            dest.mkdir(parents=True, exist_ok=True)
            _build_initramfs(work, kver, initrd)
            shutil.copyfile(work / "boot" / f"vmlinuz-{kver}", kernel)
            kver_file.write_text(kver + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        # The extracted modules are 400 MB; only the .deb (70 MB) is kept, to rebuild offline.
        for old in (cache / "dl").glob("linux-image-*.deb"):
            if old != deb and old.parent == cache / "dl":
                old.unlink()
        if log is not None:
            log.write(f"built VM kernel {kver} + initramfs in {time.monotonic() - started:.1f}s\n")
        return BootAssets(kernel, initrd, kver)


# --- running a command in the guest ----------------------------------------------------------------


@dataclass
class GuestResult:
    returncode: int  # the command's status; 124 timeout, 125 the guest never ran it
    output: str  # the command's stdout+stderr (and the guest-side setup around it)
    console: str  # kernel + /init messages from the serial console
    run_dir: Path
    seconds: float
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def booted(self) -> bool:
        return "SANITIZE-VM: host root mounted" in self.console

    def describe(self) -> str:
        tail = "\n".join(self.output.splitlines()[-40:])
        console_tail = "\n".join(self.console.splitlines()[-25:])
        return (
            f"guest rc={self.returncode} after {self.seconds:.1f}s (timed out: {self.timed_out}); "
            f"run dir {self.run_dir}\n{'; '.join(self.notes)}\n--- output (tail)\n{tail}\n"
            f"--- console (tail)\n{console_tail}"
        )


GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _guest_main_script(command: Sequence[str], run_dir: Path, cwd: Path, env: dict[str, str]) -> str:
    """Runs inside the chroot (host root, read-only): start udevd so devices get their ID_* properties,
    run the command, and record its status in the run directory."""
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    rc_file = shlex.quote(str(run_dir / "guest-rc"))
    return f"""#!/bin/sh
export PATH={GUEST_PATH}
# udevadm refuses to trigger or settle in a chroot unless told otherwise.
export HOME=/tmp LANG=C.UTF-8 LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 SYSTEMD_IGNORE_CHROOT=1
{exports}
mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon --resolve-names=never
udevadm trigger --action=add --subsystem-match=block --subsystem-match=nvme --subsystem-match=scsi_generic
udevadm settle -t 60
echo "SANITIZE-VM: udev settled rc=$? at $(cut -d' ' -f1 /proc/uptime)"
cd {shlex.quote(str(cwd))} || exit 125
{shlex.join(command)}
rc=$?
echo "SANITIZE-VM: command rc=$rc at $(cut -d' ' -f1 /proc/uptime)"
echo $rc > {rc_file}
udevadm control --exit 2>/dev/null
exit $rc
"""


def _hidden_by_guest_tmp(paths: Sequence[Path]) -> list[str]:
    """Host directories the guest must get as separate shares because its /tmp tmpfs hides them."""
    shares: list[str] = []
    for path in paths:
        real = path.resolve()
        if real == Path("/tmp") or Path("/tmp") in real.parents:
            top = Path("/tmp") / real.relative_to("/tmp").parts[0]
            if str(top) not in shares:
                shares.append(str(top))
    return shares


def run_in_guest(
    command: Sequence[str],
    *,
    run_dir: Path,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    topology: Topology = DEFAULT_TOPOLOGY,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mib: int = 2048,
    cpus: int = 2,
    cache: Path = DEFAULT_CACHE,
) -> GuestResult:
    """Boot a fresh guest, run `command` (argv) as root in the chroot with cwd `cwd`, power off.

    `run_dir` is shared read-write and mounted at the same path in the guest; the topology is written
    there as topology.json. Disk images live in a private temporary directory that is removed
    afterwards. Raises LabError only when the lab cannot be set up on the host (missing packages,
    kernel download); a guest that does not boot or times out comes back as a GuestResult with
    returncode 125 or 124.
    """
    started = time.monotonic()
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise LabError("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for path in (run_dir, cwd.resolve()):
        if re.search(r"\s", str(path)):
            raise LabError(f"paths with whitespace cannot be passed to the guest: {path}")
    assets = boot_assets(cache)
    for stale in ("guest-rc", "guest-main.log", "console.log", "qemu.log"):
        (run_dir / stale).unlink(missing_ok=True)
    (run_dir / "topology.json").write_text(topology.to_json())
    full_env = {
        "SANITIZE_VM_GUEST": "1",
        "SANITIZE_VM_RUN_DIR": str(run_dir),
        "SANITIZE_VM_TOPOLOGY": str(run_dir / "topology.json"),
        **(env or {}),
    }
    (run_dir / "guest-main.sh").write_text(_guest_main_script(command, run_dir, cwd.resolve(), full_env))

    shares = [s for s in _hidden_by_guest_tmp([cwd, Path(sys.executable).parent]) if s != str(run_dir)]
    append = f"console=ttyS0 panic=-1 quiet sanrun={run_dir}" + "".join(f" sanshare={s}" for s in shares)
    image_dir = Path(tempfile.mkdtemp(prefix="sanitize-vm-disks-", dir="/var/tmp"))
    notes: list[str] = []
    timed_out = False
    try:
        argv = [
            qemu,
            "-machine", "q35,accel=tcg",
            "-cpu", "max",
            "-smp", str(cpus),
            "-m", str(memory_mib),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", f"file:{run_dir / 'console.log'}",
            "-kernel", str(assets.kernel),
            "-initrd", str(assets.initrd),
            "-append", append,
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs", f"local,path={run_dir},mount_tag=rundir,security_model=none,multidevs=remap",
        ]  # fmt: skip
        for i, share in enumerate(shares):
            argv += ["-virtfs", f"local,path={share},mount_tag=share{i},security_model=none,readonly=on"]
        argv += qemu_disk_args(topology, image_dir)
        qemu_rc, timed_out = run_qemu(argv, log=run_dir / "qemu.log", timeout=timeout)
        if qemu_rc not in (0, -9):
            notes.append(f"qemu exited with {qemu_rc}: {_read(run_dir / 'qemu.log')[-500:]}")
    finally:
        shutil.rmtree(image_dir, ignore_errors=True)

    console = _read(run_dir / "console.log")
    rc_text = _read(run_dir / "guest-rc").strip()
    if timed_out:
        returncode = RC_TIMEOUT
        notes.append(f"guest killed after {timeout:.0f}s")
    elif rc_text.isdigit():
        returncode = int(rc_text)
    else:
        found = re.findall(r"SANITIZE-VM-RC=(\d+)", console)
        returncode = int(found[-1]) if found and found[-1] != "0" else RC_HARNESS_FAILURE
        notes.append("the guest did not record the command's status")
    return GuestResult(
        returncode=returncode,
        output=_read(run_dir / "guest-main.log"),
        console=console,
        run_dir=run_dir,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        notes=notes,
    )


def run_qemu(argv: Sequence[str], *, log: Path, timeout: float) -> tuple[int, bool]:
    """Run QEMU until the guest powers off or `timeout` seconds pass (then kill it); QEMU's own
    output goes to `log`. Returns (exit status, timed out)."""
    with open(log, "wb") as qlog:
        proc = subprocess.Popen(list(argv), stdout=qlog, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(timeout=timeout), False
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(), True
        except BaseException:  # an interrupted test run must not leave a guest behind
            proc.kill()
            proc.wait()
            raise


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, help="shared directory (default: a new one in /var/tmp)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("command", nargs="+", help="argv to run in the guest (cwd: the repository)")
    args = parser.parse_args(argv)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="sanitize-vm-run-", dir="/var/tmp"))
    result = run_in_guest(args.command, run_dir=run_dir, timeout=args.timeout)
    sys.stdout.write(result.output)
    sys.stderr.write(f"[guest rc={result.returncode} in {result.seconds:.1f}s; logs in {run_dir}]\n")
    for note in result.notes:
        sys.stderr.write(f"[{note}]\n")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
