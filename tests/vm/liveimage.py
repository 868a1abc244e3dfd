"""The live image under test: built once per source tree and cached, booted in QEMU (TCG) against
emulated NVMe, SATA and SCSI disks that look like a real AI server's, with no share of the host.

- `built_image()`: `sanitize image build` of this checkout's working tree, cached under
  SANITIZE_VM_CACHE/image/<tree id> (the .deb and wheel caches stay warm between runs).
- `ServerDisks`: an installed-looking system disk (ESP, ext4 root with a Hugging Face model cache,
  a /tmp prompt CSV and an Ollama model, swap) on NVMe, an unmounted ext4 data volume with a RAG
  store and a chat database on SATA, a partitioned model volume on SCSI.
- `UsbStick`: a copy of the ISO as a USB disk whose SANITIZE partition carries the job.
- `boot()`: QEMU with those disks, from the stick (SeaBIOS or OVMF) or by direct kernel boot of
  the network-boot pair; user networking is restricted to one forwarded port (the collector).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sanitize.image import recipe
from sanitize.lab import MEMO_MARKER, chat_db, embedding_store, tiny_gguf
from tests.vm.harness import (
    DEFAULT_CACHE,
    REPO_ROOT,
    LabError,
    NvmeController,
    NvmeNamespace,
    PlainDisk,
    Topology,
    _locked,
    qemu_disk_args,
    run_qemu,
)

IMAGE_CACHE = DEFAULT_CACHE / "image"
BUILD_TIMEOUT = float(os.environ.get("SANITIZE_IMAGE_BUILD_TIMEOUT", "2400"))
FIXTURES = REPO_ROOT / "fixtures" / "artifacts"
MARKER = b"SANTEST-LIVE-SERVER-DATA"
PLANTED_GGUF = tiny_gguf(name="q4")
MIB = 1024 * 1024

TOPOLOGY = Topology(
    nvme=(NvmeController("nvme0", "SANTESTLIVENVME0", (NvmeNamespace(1, 96, "5a4e00000000c101"),)),),
    disks=(
        PlainDisk("sata0", "sata", 48, "SANTESTLIVESATA0", "SanTest SATA SSD", "5000c50000000c02", "data"),
        PlainDisk("scsi0", "scsi", 48, "SANTESTLIVESCSI0", "SanTest SAS HDD", "5000c50000000c03", "models"),
    ),
)
SERIALS = ("SANTESTLIVENVME0", "SANTESTLIVESATA0", "SANTESTLIVESCSI0")
STICK_SERIAL = "SANTESTLIVESTICK"
HOST_SERIAL = "SANTESTHOST0001"


def run(argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), check=True, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    except subprocess.CalledProcessError as exc:
        raise LabError(f"{' '.join(argv)} failed (rc {exc.returncode}): {exc.stderr.strip()[-800:]}") from exc


# --- the image ---------------------------------------------------------------------------------


# What goes into the image: the package (code, recipe, init, lock) and the wheel's metadata.
IMAGE_SOURCES = ("sanitize", "pyproject.toml", "README.md")


def image_source_id() -> str:
    """The git ids of IMAGE_SOURCES as they are now in the working tree (untracked files too),
    read through a private index: a change to the tests alone does not rebuild the image."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
        git = ["git", "-C", str(REPO_ROOT)]
        run([*git, "read-tree", "HEAD"], env=env)
        run([*git, "add", "-A"], env=env)
        tree = run([*git, "write-tree"], env=env).stdout.strip()
        ids = run([*git, "rev-parse", *(f"{tree}:{p}" for p in IMAGE_SOURCES)]).stdout.split()
    return hashlib.sha256(" ".join(ids).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class BuiltImage:
    directory: Path
    manifest: dict[str, object]
    built_now: bool
    # A shared lock on the build, held until `release()`: another session's prune skips it.
    hold: int | None = field(default=None, compare=False, repr=False)

    def release(self) -> None:
        if self.hold is not None:
            os.close(self.hold)

    @property
    def iso(self) -> Path:
        return self.directory / recipe.ISO_NAME

    @property
    def kernel(self) -> Path:
        return self.directory / recipe.KERNEL_NAME

    @property
    def initrd(self) -> Path:
        return self.directory / recipe.INITRD_NAME

    @property
    def image_id(self) -> str:
        return str(self.manifest["image_id"])


def built_image(log: Path) -> BuiltImage:
    """The image of this working tree: from the cache, or built now (`sanitize image build`)."""
    tree = image_source_id()
    builds = IMAGE_CACHE / "builds"
    out = builds / tree
    with _locked(IMAGE_CACHE / ".test-lock"):
        manifest = out / recipe.MANIFEST_NAME
        if manifest.exists():
            return BuiltImage(out, json.loads(manifest.read_text()), built_now=False, hold=_hold(out))
        shutil.rmtree(out, ignore_errors=True)
        argv = [sys.executable, "-m", "sanitize", "image", "build", "--output", str(out), "--cache", str(IMAGE_CACHE)]
        with open(log, "wb") as fh:
            proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, cwd=REPO_ROOT)
        if proc.returncode != 0:
            shutil.rmtree(out, ignore_errors=True)
            tail = log.read_text(errors="replace")[-2000:]
            raise LabError(f"sanitize image build failed (rc {proc.returncode}):\n{tail}")
        hold = _hold(out)
        # Keep this build, the one before it, and any that another session is still booting.
        olds = sorted((p for p in builds.iterdir() if p != out), key=lambda p: p.stat().st_mtime)
        for old in olds[:-1]:
            if _unused(old):
                shutil.rmtree(old, ignore_errors=True)
        return BuiltImage(out, json.loads(manifest.read_text()), built_now=True, hold=hold)


def _lock_file(build: Path) -> int:
    return os.open(build / ".in-use", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _hold(build: Path) -> int:
    """A shared lock on `build` for as long as this session uses it."""
    fd = _lock_file(build)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def _unused(build: Path) -> bool:
    try:
        fd = _lock_file(build)
    except OSError:  # not a build directory this code made: leave it to the time-ordered rule
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


# --- the server's disks ------------------------------------------------------------------------


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _ext4(tree: Path, image: Path, mib: int, label: str) -> None:
    with open(image, "wb") as fh:
        fh.truncate(mib * MIB)
    run(["mkfs.ext4", "-q", "-F", "-L", label, "-d", str(tree), str(image)])


def _gpt(disk: Path, parts: Sequence[tuple[str, Path | None, int]]) -> None:
    """Partition `disk` (GPT, 1 MiB aligned) and copy each (type, image, MiB) into place."""
    script = ["label: gpt", "unit: sectors"]
    start = 2048
    for kind, _image, mib in parts:
        script.append(f"start={start}, size={mib * 2048}, type={kind}")
        start += mib * 2048
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", str(disk)], input="\n".join(script) + "\n")
    offset = 2048 * 512
    with open(disk, "r+b") as out:
        for _kind, image, mib in parts:
            if image is not None:
                out.seek(offset)
                with open(image, "rb") as src:
                    shutil.copyfileobj(src, out)
            offset += mib * MIB


def _system_root(root: Path) -> None:
    """An installed Debian with an AI stack's leftovers in the usual places."""
    _write(root, "etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    _write(root, "etc/hostname", b"ai-server-07\n")
    _write(root, "etc/fstab", b"UUID=... / ext4 errors=remount-ro 0 1\n")
    _write(root, "usr/bin/ollama", b"\x7fELF" + MARKER + b" ollama binary stand-in")
    shutil.copytree(FIXTURES / "weights" / "hf" / "hub", root / "home/alice/.cache/huggingface/hub")
    _write(root, "home/alice/.bash_history", b"ollama run llama3\n" + MARKER + b"\n")
    _write(root, "tmp/prompts.csv", (FIXTURES / "stores" / "prompts.csv").read_bytes())
    gguf = tiny_gguf(name="server-model")
    digest = hashlib.sha256(gguf).hexdigest()
    _write(root, f"usr/share/ollama/.ollama/models/blobs/sha256-{digest}", gguf)
    _write(root, "var/log/syslog", MARKER + b" boot\n")


@dataclass
class ServerDisks:
    """Disk images for `TOPOLOGY`, written by `qemu_disk_args` and then filled here."""

    directory: Path
    args: list[str] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)
    before: dict[str, list[bytes]] = field(default_factory=dict)

    @classmethod
    def create(cls, directory: Path) -> ServerDisks:
        directory.mkdir(parents=True, exist_ok=True)
        disks = cls(directory)
        disks.args = qemu_disk_args(TOPOLOGY, directory)
        disks.images = {
            "SANTESTLIVENVME0": directory / "dnvme0n1.img",
            "SANTESTLIVESATA0": directory / "dsata0.img",
            "SANTESTLIVESCSI0": directory / "dscsi0.img",
        }
        work = directory / "build"
        work.mkdir()
        # NVMe: the former system disk.
        _system_root(work / "root")
        _ext4(work / "root", work / "root.img", 64, "root")
        run(["mkfs.vfat", "-C", "-n", "ESP", str(work / "esp.img"), str(8 * 1024)])
        with open(work / "grubx64.efi", "wb") as fh:
            fh.write(b"MZ" + MARKER + b" boot loader stand-in")
        run(["mmd", "-i", str(work / "esp.img"), "::/EFI", "::/EFI/debian"])
        run(["mcopy", "-i", str(work / "esp.img"), str(work / "grubx64.efi"), "::/EFI/debian/grubx64.efi"])
        with open(work / "swap.img", "wb") as fh:
            fh.truncate(16 * MIB)
            fh.seek(MIB)
            fh.write(MARKER + b" swapped-out page: " + (FIXTURES / "stores" / "prompts.csv").read_bytes())
        run(["mkswap", "-q", "-L", "swap", str(work / "swap.img")])
        _gpt(
            disks.images["SANTESTLIVENVME0"],
            [("uefi", work / "esp.img", 8), ("linux", work / "root.img", 64), ("swap", work / "swap.img", 16)],
        )
        # SATA: an unmounted data volume (no partition table), a RAG store and a chat database.
        data = work / "data"
        (data / "rag").mkdir(parents=True)
        embedding_store(str(data / "rag" / "memos.sqlite"))
        (data / "open-webui").mkdir()
        chat_db(str(data / "open-webui" / "webui.db"))
        _write(data, "notes.txt", MARKER + b" data volume\n")
        _ext4(data, disks.images["SANTESTLIVESATA0"], 48, "data")
        # SCSI: a partitioned model volume.
        models = work / "models"
        _write(models, "models/server-q4.gguf", PLANTED_GGUF)
        _write(models, "finetune/train.jsonl", (FIXTURES / "stores" / "finetune.jsonl").read_bytes())
        _write(models, "README", MARKER + b" models\n")
        _ext4(models, work / "models.img", 40, "models")
        _gpt(disks.images["SANTESTLIVESCSI0"], [("linux", work / "models.img", 40)])
        shutil.rmtree(work)
        disks.before = {serial: block_hashes(path) for serial, path in disks.images.items()}
        return disks

    def sha256(self) -> dict[str, str]:
        return {serial: file_sha256(path) for serial, path in self.images.items()}


def block_hashes(path: Path, block: int = 4096) -> list[bytes]:
    out = []
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            out.append(b"" if not chunk.strip(b"\0") else hashlib.sha256(chunk).digest())
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def leftovers(disks: ServerDisks, serial: str) -> list[str]:
    """What of the disk's old content is still readable: markers, and 4 KiB blocks unchanged."""
    path = disks.images[serial]
    data = path.read_bytes()
    # Whole headers, not 4-byte magics: a random keystream over 48 MiB holds b"GGUF" somewhere
    # about once in 85 runs (2**-32 per offset): a CI run failed on a lone b"GGUF" on a disk
    # whose every 4 KiB block had changed.
    markers = {
        "marker": MARKER,
        "memo": MEMO_MARKER.encode(),
        "GGUF": PLANTED_GGUF[:48],
        "SQLite": b"SQLite format 3\0",
    }
    found = [name for name, m in markers.items() if m in data]
    after = block_hashes(path)
    unchanged = [i for i, (old, new) in enumerate(zip(disks.before[serial], after, strict=True)) if old and old == new]
    if unchanged:
        found.append(f"{len(unchanged)} blocks of 4 KiB unchanged (first at {unchanged[0] * 4096})")
    return found


# --- the USB stick -------------------------------------------------------------------------------


@dataclass
class UsbStick:
    path: Path
    config_offset: int

    @classmethod
    def from_iso(cls, iso: Path, path: Path) -> UsbStick:
        shutil.copyfile(iso, path)
        table = json.loads(run(["sfdisk", "--json", str(path)]).stdout)["partitiontable"]
        config = [p for p in table["partitions"] if p["type"] in ("c", "0c")]
        if len(config) != 1:
            raise LabError(f"expected one FAT config partition on the ISO, found {table['partitions']}")
        return cls(path, int(config[0]["start"]) * 512)

    @property
    def _image(self) -> str:
        return f"{self.path}@@{self.config_offset}"

    def put(self, rel: str, data: bytes) -> None:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            subprocess.run(["mmd", "-D", "s", "-i", self._image, "::/" + "/".join(parts[:depth])], capture_output=True)
        with tempfile.NamedTemporaryFile() as tmp:
            tmp.write(data)
            tmp.flush()
            run(["mcopy", "-o", "-i", self._image, tmp.name, "::/" + rel])

    def fetch(self, rel: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        run(["mcopy", "-s", "-n", "-i", self._image, "::/" + rel, str(dest)])
        return dest / Path(rel).name

    def listing(self, rel: str) -> list[str]:
        out = subprocess.run(["mdir", "-b", "-i", self._image, "::/" + rel], capture_output=True, text=True)
        return [line.rstrip("/").split("/")[-1] for line in out.stdout.splitlines() if line.strip()]

    def outside_config(self) -> str:
        """SHA-256 of everything but the config partition: the ISO, its boot code and partitions."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as fh:
            digest.update(fh.read(self.config_offset))
            fh.seek(self.config_offset + recipe.CONFIG_PARTITION_MIB * MIB)
            digest.update(fh.read())
        return digest.hexdigest()


# --- booting -----------------------------------------------------------------------------------


@dataclass
class Boot:
    returncode: int
    timed_out: bool
    seconds: float
    console: str
    qemu_log: str

    def describe(self) -> str:
        tail = "\n".join(self.console.splitlines()[-60:])
        return (
            f"qemu rc={self.returncode} after {self.seconds:.0f} s (timed out: {self.timed_out})\n"
            f"{self.qemu_log[-500:]}\n--- console (tail)\n{tail}"
        )

    @property
    def powered_off(self) -> bool:
        return self.returncode == 0 and not self.timed_out and "reboot: Power down" in self.console

    def inventory(self) -> dict[str, object]:
        begin = "--- sanitize.inventory/1 begin ---"
        end = "--- sanitize.inventory/1 end ---"
        # Every console prints it once; the first complete copy is enough.
        match = re.search(re.escape(begin) + r"\r?\n(.*?)\r?\n" + re.escape(end), self.console, re.S)
        if not match:
            raise AssertionError(f"no inventory document on the console\n{self.describe()}")
        doc: dict[str, object] = json.loads(match.group(1))
        return doc


def _type_answers(path: Path, answers: Sequence[tuple[str, str]], timeout: float) -> None:
    """Connect to the serial console's socket and answer each prompt once it appears."""
    deadline = time.monotonic() + timeout
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            conn.connect(str(path))
            break
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)
    seen = b""
    pending = list(answers)
    with conn:
        conn.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return  # QEMU exited
            seen += chunk
            if pending and pending[0][0].encode() in seen:
                prompt, text = pending.pop(0)
                seen = seen[seen.index(prompt.encode()) + len(prompt) :]
                time.sleep(0.5)  # let the prompt finish (it reads from the tty after printing)
                conn.sendall(text.encode())


def collector_netdev(collected: Path, run_dir: Path) -> list[str]:
    """User networking with nothing reachable but an rsync daemon (rsync://10.0.2.100/results/),
    run by QEMU per connection (inetd mode) on the host: no listening port, no daemon to stop."""
    conf = run_dir / "rsyncd.conf"
    conf.write_text(
        f"use chroot = no\nlog file = {run_dir / 'rsyncd.log'}\n"
        f"[results]\npath = {collected}\nread only = no\nuid = root\ngid = root\n"
    )
    rsync = shutil.which("rsync")
    if rsync is None:
        raise LabError("rsync is not installed (apt-get install rsync)")
    forward = f"guestfwd=tcp:10.0.2.100:873-cmd:{rsync} --daemon --config={conf}"
    return ["-netdev", f"user,id=net0,restrict=on,{forward}", "-device", "virtio-net-pci,netdev=net0"]


def boot(
    image: BuiltImage,
    disks: ServerDisks,
    run_dir: Path,
    *,
    stick: UsbStick | None = None,
    direct_append: str | None = None,
    uefi: bool = False,
    network: list[str] | None = None,
    answers: Sequence[tuple[str, str]] = (),
    timeout: float = 900,
    memory_mib: int = 2048,
) -> Boot:
    """Power the emulated server on and wait until the image powers it off (or `timeout`).

    `answers`: (prompt, text) pairs typed on the serial console, each once its prompt has shown,
    in order: an operator at the console.
    """
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise LabError("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    console = run_dir / "console.log"
    console.unlink(missing_ok=True)
    argv = [
        qemu,
        "-machine", "q35,accel=tcg",
        "-cpu", "max",
        "-smp", "2",
        "-m", str(memory_mib),
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-smbios", f"type=1,manufacturer=SanTest,product=AI Server,serial={HOST_SERIAL}",
    ]  # fmt: skip
    socket_path = run_dir / "serial.sock"
    if answers:
        socket_path.unlink(missing_ok=True)
        argv += ["-chardev", f"socket,id=ser0,path={socket_path},server=on,wait=off,logfile={console}"]
        argv += ["-serial", "chardev:ser0"]
    else:
        argv += ["-serial", f"file:{console}"]
    if uefi:
        firmware = Path("/usr/share/ovmf/OVMF.fd")
        if not firmware.exists():
            raise LabError("OVMF is not installed (apt-get install ovmf)")
        argv += ["-bios", str(firmware)]
    if direct_append is not None:
        argv += ["-kernel", str(image.kernel), "-initrd", str(image.initrd), "-append", direct_append]
    if stick is not None:
        argv += ["-device", "qemu-xhci,id=xhci"]
        argv += ["-drive", f"file={stick.path},if=none,id=stick,format=raw"]
        argv += ["-device", f"usb-storage,bus=xhci.0,drive=stick,serial={STICK_SERIAL},bootindex=1"]
    argv += disks.args
    argv += network or []
    started = time.monotonic()
    operator = threading.Thread(target=_type_answers, args=(socket_path, answers, timeout), daemon=True)
    if answers:
        operator.start()
    rc, timed_out = run_qemu(argv, log=run_dir / "qemu.log", timeout=timeout)
    if answers:
        operator.join(10)
    return Boot(
        returncode=rc,
        timed_out=timed_out,
        seconds=time.monotonic() - started,
        console=console.read_text(errors="replace") if console.exists() else "",
        qemu_log=(run_dir / "qemu.log").read_text(errors="replace"),
    )
