"""`sanitize image build`: the live image, from Debian packages and this project's wheel.

Every byte of the image comes from one of three places, and the manifest records each:

1. Debian packages from the mirror (mmdebstrap, signatures checked by apt against the Debian
   archive keyring), with their names and versions;
2. the Python packages the tool depends on, as wheels from the package index, each checked
   against the SHA-256 pinned in `python.lock` (pip --require-hashes);
3. this project's wheel, built from the git tree of the checkout (or given with --wheel),
   with its SHA-256; plus the files in `sanitize/image/files/` (the init, GRUB's menu).

Steps: wheels -> Debian root (cached .debs) -> Python venv in the root -> trim (docs, unneeded
kernel modules) -> initramfs (the whole root, zstd) -> ISO (GRUB for BIOS and UEFI, a FAT
config partition) -> manifest.json. With SOURCE_DATE_EPOCH (default: the commit's date) the
root, the initramfs and the ISO are reproducible from the same inputs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanitize import __version__
from sanitize.certify.canonical import canonical_bytes, sha256_hex
from sanitize.errors import BadInput, ExitCode, PermissionDenied, SanitizeError, ToolMissing
from sanitize.hw import CommandResult, Host
from sanitize.hw.mount import umount
from sanitize.image import cpio, recipe

FILES = Path(__file__).resolve().parent / "files"
LOCK_FILE = Path(__file__).resolve().parent / "python.lock"
MANIFEST_SCHEMA = "sanitize.image-manifest/1"
IDENTITY_SCHEMA = "sanitize.image-identity/1"
DEFAULT_CACHE = "/var/cache/sanitize-image"

# Host programs the build runs, and the Debian package of each (for the one-line error).
BUILD_TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "chroot": "coreutils",
    "depmod": "kmod",
    "zstd": "zstd",
    "grub-mkimage": "grub-common",
    "xorriso": "xorriso",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mmd": "mtools",
    "git": "git",
}
GRUB_BIOS_DIR = "/usr/lib/grub/i386-pc"
GRUB_EFI_DIR = "/usr/lib/grub/x86_64-efi"
GRUB_MODULES = (
    "part_gpt",
    "part_msdos",
    "iso9660",
    "fat",
    "search",
    "search_fs_uuid",
    "configfile",
    "normal",
    "linux",
    "echo",
    "test",
    "serial",
    "terminal",
    "gzio",
    "all_video",
)


IMPORT_ALL = (
    "import importlib, pkgutil, sanitize\n"
    "for m in pkgutil.walk_packages(sanitize.__path__, 'sanitize.'):\n"
    "    importlib.import_module(m.name)\n"
)


class BuildError(SanitizeError):
    """A build step failed; the message names the step and the tool's last line."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class BuildOptions:
    output: str
    cache: str = DEFAULT_CACHE
    source: str | None = None  # a git checkout of sanitize (default: the one this code runs from)
    wheel: str | None = None  # a prebuilt wheel instead of building one from the source
    lock: str = str(LOCK_FILE)
    mirror: str = recipe.DEFAULT_MIRROR
    security_mirror: str = recipe.DEFAULT_SECURITY_MIRROR
    index_url: str | None = None  # a PyPI mirror for the wheels (they are checked by hash anyway)
    extra_packages: tuple[str, ...] = ()
    source_date_epoch: int | None = None
    compression_level: int = 12
    grub_timeout: int = 5


@dataclass
class StepTimes:
    steps: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str, progress: Callable[[str], None]) -> Iterator[None]:
        progress(f"image: {name}...")
        started = time.monotonic()
        yield
        self.steps[name] = round(time.monotonic() - started, 1)
        progress(f"image: {name}: {self.steps[name]:.0f} s")


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    filename: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "file": self.filename, "sha256": self.sha256}


# --- small helpers -----------------------------------------------------------------------------


def _check(result: CommandResult, what: str) -> CommandResult:
    if not result.ok:
        lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines() if line.strip()]
        # The last line is often a summary ("-return_with SORRY"); the cause is the last complaint.
        complaints = [
            line
            for line in lines
            if re.search(r"\b(E:|error|FAILURE|SORRY|failed)", line, re.I) and " NOTE " not in line
        ]
        why = (complaints or lines or ["no output"])[-1]
        raise BuildError(f"{what}: {result.argv[0]} exited {result.returncode}: {why}")
    return result


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """One build at a time per cache (mmdebstrap's package cache is not shared safely)."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_WHEEL_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)-")


def wheel_name_version(filename: str) -> tuple[str, str]:
    match = _WHEEL_NAME.match(filename)
    if not match or not filename.endswith(".whl"):
        raise BadInput(f"{filename}: not a wheel file name")
    return re.sub(r"[-_.]+", "-", match["name"]).lower(), match["version"]


def parse_lock(text: str, source: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """`name==version --hash=sha256:...` lines (with backslash continuations) -> name: (version, hashes)."""
    pins: dict[str, tuple[str, tuple[str, ...]]] = {}
    logical = re.sub(r"\\\n", " ", text)
    for n, line in enumerate(logical.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split()
        name, sep, version = spec.partition("==")
        hashes = tuple(o.removeprefix("--hash=sha256:") for o in options if o.startswith("--hash=sha256:"))
        if not sep or not version or not hashes or len(hashes) != len(options):
            raise BadInput(f"{source}: line {n}: expected 'name==version --hash=sha256:HEX ...'")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = (version, hashes)
    if not pins:
        raise BadInput(f"{source}: no pinned packages")
    return pins


def platform_args() -> list[str]:
    args = ["--only-binary=:all:", "--python-version", recipe.PYTHON_VERSION, "--implementation", "cp"]
    abi = "cp" + recipe.PYTHON_VERSION.replace(".", "")
    args += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
    for platform in recipe.PLATFORMS:
        args += ["--platform", platform]
    return args


# --- the builder -------------------------------------------------------------------------------


class Builder:
    def __init__(self, host: Host, options: BuildOptions, progress: Callable[[str], None]) -> None:
        self.host = host
        self.options = options
        self.progress = progress
        self.times = StepTimes()
        self.cache = Path(options.cache)
        self.final = Path(options.output)
        # Outputs are made here and moved into `final` only when all of them are: a failed build
        # never leaves a new kernel beside an old initramfs and manifest.
        self.output = self.final / ".building"
        self.work = Path()  # set in build()
        self.epoch = 0

    # -- entry point --
    def build(self) -> dict[str, Any]:
        self._preflight()
        started = time.monotonic()
        # A stop signal (Ctrl-C, SIGTERM, SIGHUP) arrives here as an exception (sanitize.entry):
        # the running tool's process group is killed and the work tree cleaned up below.
        with _locked(str(self.cache / ".lock")):
            shutil.rmtree(self.output, ignore_errors=True)
            self.output.mkdir(parents=True)
            self.work = Path(tempfile.mkdtemp(prefix="build-", dir=self.cache))
            try:
                return self._build(started)
            finally:
                self._remove_work()
                shutil.rmtree(self.output, ignore_errors=True)

    def _remove_work(self) -> None:
        """Delete the work tree, after unmounting what a killed mmdebstrap left mounted in its
        chroot (/proc, /sys, /dev/pts): never delete through a mount."""
        inside = str(self.work) + "/"
        for mount in sorted((m.mountpoint for m in self.host.mounts()), reverse=True):
            if mount.startswith(inside):
                umount(self.host, mount)
        if any(m.mountpoint.startswith(inside) for m in self.host.mounts()):
            self.progress(f"image: {self.work} still has mounts; left in place")
            return
        shutil.rmtree(self.work, ignore_errors=True)

    def _preflight(self) -> None:
        if not self.host.is_root():
            raise PermissionDenied("image build needs root (mmdebstrap builds the root file system as root)")
        for tool, package in BUILD_TOOLS.items():
            if not self.host.have(tool):
                raise ToolMissing(f"{tool} is not installed", hint=f"apt-get install {package}")
        for path in (GRUB_BIOS_DIR, GRUB_EFI_DIR):
            if not os.path.isdir(path):
                package = "grub-pc-bin" if "i386" in path else "grub-efi-amd64-bin"
                raise ToolMissing(f"{path} is missing", hint=f"apt-get install {package}")
        if not os.path.isfile(self.options.lock):
            raise BadInput(f"{self.options.lock}: no such lock file")

    def _build(self, started: float) -> dict[str, Any]:
        source = self._source()
        self.epoch = self.options.source_date_epoch or source.get("commit_time") or int(time.time())
        with self.times.step("Python wheels (checked against python.lock)", self.progress):
            wheels = self._python_wheels()
        with self.times.step("this project's wheel", self.progress):
            project = self._project_wheel(source)
        root = self.work / "root"
        with self.times.step("Debian root file system (mmdebstrap)", self.progress):
            self._debian_root(root)
        with self.times.step("Python environment in the root", self.progress):
            self._python_env(root, wheels, project)
        with self.times.step("trim and install the init", self.progress):
            kernel_version = self._trim(root)
        packages = self._packages(root)
        inputs = self._inputs(source, wheels, project, packages, kernel_version)
        image_id = sha256_hex(canonical_bytes(inputs))
        self._embed_identity(root, inputs, image_id)
        with self.times.step("initramfs (the whole root, zstd)", self.progress):
            unpacked = self._initrd(root)
        with self.times.step("ISO (GRUB for BIOS and UEFI, config partition)", self.progress):
            self._iso(image_id)
        outputs = {
            name: {"sha256": file_sha256(self.output / name), "size": (self.output / name).stat().st_size}
            for name in (recipe.ISO_NAME, recipe.KERNEL_NAME, recipe.INITRD_NAME)
        }
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "image_id": image_id,
            "built_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            **inputs,
            "outputs": outputs,
            "ram": {"root_bytes": unpacked},
            "build": {"seconds": round(time.monotonic() - started, 1), "steps": self.times.steps},
        }
        (self.output / recipe.MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (self.final / recipe.MANIFEST_NAME).unlink(missing_ok=True)
        for name in (*outputs, recipe.MANIFEST_NAME):  # the manifest last: present means complete
            (self.output / name).replace(self.final / name)
        self.output.rmdir()
        return manifest

    # -- inputs --
    def _source(self) -> dict[str, Any]:
        """Where this project's code comes from: a wheel given, or the git tree of a checkout."""
        if self.options.wheel:
            return {"wheel": os.path.basename(self.options.wheel)}
        checkout = self.options.source or str(Path(__file__).resolve().parents[2])
        if not os.path.isfile(os.path.join(checkout, "pyproject.toml")):
            raise BadInput(f"{checkout}: not a checkout of sanitize (no pyproject.toml); pass --wheel or --source")
        git = ["git", "-C", checkout]
        head = self.host.run([*git, "rev-parse", "HEAD"], timeout=30)
        if not head.ok:
            raise BadInput(f"{checkout}: not a git checkout; pass --wheel")
        # The working tree as git would commit it (untracked files included, ignored ones not),
        # through a private index: the checkout's own index and files are left alone.
        env = {"GIT_INDEX_FILE": str(self.work / "git-index")}
        for step in (["read-tree", "HEAD"], ["add", "-A"]):
            _check(self.host.run([*git, *step], timeout=300, env=env), "git")
        tree = _check(self.host.run([*git, "write-tree"], timeout=60, env=env), "git").stdout.strip()
        head_tree = _check(self.host.run([*git, "rev-parse", "HEAD^{tree}"], timeout=30), "git").stdout.strip()
        commit_time = int(_check(self.host.run([*git, "log", "-1", "--format=%ct", "HEAD"], timeout=30), "git").stdout)
        return {
            "checkout": checkout,
            "commit": head.stdout.strip(),
            "tree": tree,
            "dirty": tree != head_tree,
            "commit_time": commit_time,
        }

    def _pip(self, *args: str, timeout: float = 900) -> CommandResult:
        # --isolated: no user or site pip configuration (extra indexes, constraints) leaks in.
        argv = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", *args]
        if self.options.index_url:
            argv += ["--index-url", self.options.index_url]
        # SOURCE_DATE_EPOCH: the project wheel's zip timestamps, so the same tree gives the same wheel.
        return self.host.run(argv, timeout=timeout, env={"SOURCE_DATE_EPOCH": str(self.epoch)})

    def _python_wheels(self) -> list[Wheel]:
        pins = parse_lock(Path(self.options.lock).read_text(), self.options.lock)
        wheelhouse = self.cache / "wheels"
        wheelhouse.mkdir(parents=True, exist_ok=True)
        found = self._wheels_in(wheelhouse, pins)
        if len(found) < len(pins):
            _check(
                self._pip(
                    "download",
                    "--no-deps",
                    "--require-hashes",
                    "--dest",
                    str(wheelhouse),
                    "-r",
                    self.options.lock,
                    *platform_args(),
                ),
                "downloading the pinned wheels",
            )
            found = self._wheels_in(wheelhouse, pins)
        missing = sorted(set(pins) - {w.name for w in found})
        if missing:
            raise BuildError(f"no wheel matching python.lock for {', '.join(missing)}")
        return sorted(found, key=lambda w: w.name)

    @staticmethod
    def _wheels_in(wheelhouse: Path, pins: dict[str, tuple[str, tuple[str, ...]]]) -> list[Wheel]:
        """Wheels in the cache that match a pin (name, version and one of its hashes)."""
        out: dict[str, Wheel] = {}
        for path in sorted(wheelhouse.glob("*.whl")):
            name, version = wheel_name_version(path.name)
            pin = pins.get(name)
            if pin is None or pin[0] != version:
                continue
            digest = file_sha256(path)
            if digest in pin[1]:
                out[name] = Wheel(name, version, path.name, digest)
        return list(out.values())

    def _project_wheel(self, source: dict[str, Any]) -> Wheel:
        dest = self.work / "project"
        dest.mkdir()
        if self.options.wheel:
            path = Path(self.options.wheel)
            if not path.is_file():
                raise BadInput(f"{path}: no such wheel")
            shutil.copyfile(path, dest / path.name)
        else:
            tree = self.work / "source"
            tree.mkdir()
            tar = self.work / "source.tar"
            _check(
                self.host.run(
                    ["git", "-C", source["checkout"], "archive", "--format=tar", "-o", str(tar), source["tree"]],
                    timeout=120,
                ),
                "git archive",
            )
            _check(self.host.run(["tar", "-C", str(tree), "-xf", str(tar)], timeout=120), "unpacking the source")
            _check(self._pip("wheel", "--no-deps", "-w", str(dest), str(tree)), "building this project's wheel")
        built = sorted(dest.glob("sanitize-*.whl"))
        if len(built) != 1:
            raise BuildError(f"expected one sanitize wheel, found {[p.name for p in built]}")
        name, version = wheel_name_version(built[0].name)
        return Wheel(name, version, built[0].name, file_sha256(built[0]))

    # -- the root --
    def _sources(self) -> list[str]:
        mirror, security = self.options.mirror, self.options.security_mirror
        return [
            f"deb {mirror} {recipe.SUITE} main",
            f"deb {mirror} {recipe.SUITE}-updates main",
            f"deb {security} {recipe.SUITE}-security main",
        ]

    def _debian_root(self, root: Path) -> None:
        debs = self.cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        packages = sorted({*recipe.PACKAGES, *self.options.extra_packages})
        argv = [
            "mmdebstrap",
            "--variant=essential",
            "--mode=root",
            "--format=directory",
            # /usr merged by mmdebstrap itself: without it Debian 12 pulls in usrmerge and perl (36 MiB).
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            f"--include={','.join(packages)}",
            *(f"--dpkgopt={opt}" for opt in recipe.DPKG_EXCLUDES),
            # The package cache survives between builds (mmdebstrap's documented sync-in/out).
            "--skip=essential/unlink",
            '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
            f"--setup-hook=sync-in {debs} /var/cache/apt/archives/",
            f"--customize-hook=sync-out /var/cache/apt/archives {debs}",
            # Which index each package came from: the Release files' dates, kept in the image.
            f'--customize-hook=mkdir -p "$1"{recipe.IMAGE_DIR} && '
            f'grep -h -E "^(Origin|Suite|Date):" "$1"/var/lib/apt/lists/*Release '
            f'> "$1"{recipe.IMAGE_DIR}/apt-release.txt',
            recipe.SUITE,
            str(root),
            *self._sources(),
        ]
        _check(
            # INITRD=No: no Debian initramfs (the image is its own), a minute less under load.
            self.host.run(
                argv,
                timeout=3600,
                env={"SOURCE_DATE_EPOCH": str(self.epoch), "INITRD": "No"},
                process_group=True,  # apt and dpkg go too when the build is stopped
            ),
            "building the Debian root",
        )
        # Keep the package cache to what the last build used.
        kept = {os.path.basename(p) for p in glob.glob(str(root / "var/cache/apt/archives/*.deb"))}
        if kept:
            for old in debs.glob("*.deb"):
                if old.name not in kept:
                    old.unlink()

    def _chroot(self, root: Path, *argv: str, what: str, timeout: float = 900) -> CommandResult:
        return _check(
            self.host.run(
                ["chroot", str(root), *argv],
                timeout=timeout,
                env={"SOURCE_DATE_EPOCH": str(self.epoch)},
                process_group=True,
            ),
            what,
        )

    def _python_env(self, root: Path, wheels: Sequence[Wheel], project: Wheel) -> None:
        inside = "/tmp/sanitize-wheels"
        stage = root / inside.lstrip("/")
        stage.mkdir(parents=True)
        for wheel in wheels:
            shutil.copyfile(self.cache / "wheels" / wheel.filename, stage / wheel.filename)
        shutil.copyfile(self.work / "project" / project.filename, stage / project.filename)
        shutil.copyfile(self.options.lock, stage / "python.lock")
        venv, py = recipe.VENV, f"{recipe.VENV}/bin/python"
        pip = [py, "-m", "pip", "--isolated", "--disable-pip-version-check", "--no-cache-dir"]
        install = [*pip, "install", "--no-index", "--no-compile", "--find-links", inside]
        self._chroot(root, "python3", "-m", "venv", venv, what="creating the venv")
        self._chroot(root, *install, "--require-hashes", "-r", f"{inside}/python.lock", what="installing python.lock")
        self._chroot(root, *install, "--no-deps", f"{inside}/{project.filename}", what="installing sanitize")
        self._chroot(root, *pip, "uninstall", "-y", "pip", "setuptools", what="removing pip from the venv")
        shutil.rmtree(stage)
        site = next(root.glob(f"{venv.lstrip('/')}/lib/python*/site-packages"))
        for tests in sorted(site.glob("*/tests")) + sorted(site.glob("*/*/tests")):
            if tests.is_dir() and tests.parent.name != "sanitize":
                shutil.rmtree(tests)
        # Byte-code compiled once here, hash-checked so it stays valid whatever the file dates.
        self._chroot(
            root,
            py,
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode",
            "unchecked-hash",
            f"{venv}/lib",
            what="compiling the venv",
        )
        # Every module imports in the image (a missing system file, e.g. time zones, shows here).
        self._chroot(root, py, "-c", IMPORT_ALL, what="importing every sanitize module in the image")
        link = root / "usr/local/bin/sanitize"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"{venv}/bin/sanitize")

    def _trim(self, root: Path) -> str:
        kernels = sorted(p.name for p in (root / "lib/modules").iterdir())
        if len(kernels) != 1:
            raise BuildError(f"expected one kernel in the root, found {kernels}")
        kver = kernels[0]
        shutil.copyfile(root / "boot" / f"vmlinuz-{kver}", self.output / recipe.KERNEL_NAME)
        for pattern in recipe.ROOT_EXCLUDES:
            for path in glob.glob(str(root / pattern)):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
        for sub in recipe.MODULE_EXCLUDES:
            shutil.rmtree(root / "lib/modules" / kver / sub, ignore_errors=True)
        self._compress_modules(root / "lib/modules" / kver)
        _check(self.host.run(["depmod", "-b", str(root), kver], timeout=300), "depmod")
        image_dir = root / recipe.IMAGE_DIR.lstrip("/")
        image_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FILES / "init.sh", root / "init")
        os.chmod(root / "init", 0o755)
        shutil.copyfile(FILES / "udhcpc.script", image_dir / "udhcpc.script")
        os.chmod(image_dir / "udhcpc.script", 0o755)
        (root / "etc/hostname").write_text("sanitize-live\n")
        (root / "etc/resolv.conf").unlink(missing_ok=True)
        (root / "etc/resolv.conf").write_text("")
        (root / "etc/fstab").write_text("# the sanitize live image runs from RAM: nothing is mounted from disks\n")
        return kver

    def _compress_modules(self, directory: Path) -> None:
        """zstd each module (kmod loads .ko.zst): a quarter of the RAM the image takes."""
        modules = sorted(str(p) for p in directory.rglob("*.ko"))
        batches = [modules[i : i + 200] for i in range(0, len(modules), 200)]
        level = f"-{recipe.MODULE_COMPRESSION_LEVEL}"
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            runs = pool.map(lambda batch: self.host.run(["zstd", "-q", "--rm", level, *batch], timeout=1800), batches)
            for result in runs:
                _check(result, "compressing kernel modules")

    def _packages(self, root: Path) -> list[dict[str, str]]:
        out = _check(
            self.host.run(
                [
                    "dpkg-query",
                    f"--admindir={root}/var/lib/dpkg",
                    "-W",
                    "-f",
                    "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n",
                ],
                timeout=60,
            ),
            "listing the image's packages",
        ).stdout
        packages = []
        for line in out.splitlines():
            status, name, version, arch = [*line.split("\t"), "", "", ""][:4]
            if status.startswith("ii"):
                packages.append({"name": name, "version": version, "architecture": arch})
        return sorted(packages, key=lambda p: p["name"])

    def _inputs(
        self,
        source: dict[str, Any],
        wheels: Sequence[Wheel],
        project: Wheel,
        packages: list[dict[str, str]],
        kernel_version: str,
    ) -> dict[str, Any]:
        """Everything the image is made from: its id is the SHA-256 of this, canonical."""
        release = (self.work / "root" / recipe.IMAGE_DIR.lstrip("/") / "apt-release.txt").read_text()
        files = {p.name: file_sha256(p) for p in sorted(FILES.iterdir()) if p.is_file()}
        recipe_doc = {
            "suite": recipe.SUITE,
            "packages_requested": sorted({*recipe.PACKAGES, *self.options.extra_packages}),
            "dpkg_excludes": list(recipe.DPKG_EXCLUDES),
            "module_excludes": list(recipe.MODULE_EXCLUDES),
            "root_excludes": list(recipe.ROOT_EXCLUDES),
            "files": files,
            "compression": f"zstd -{self.options.compression_level}",
        }
        return {
            "sanitize": {
                "version": __version__,
                "wheel": project.to_dict(),
                "source": {k: v for k, v in source.items() if k in ("commit", "tree", "dirty", "wheel")},
            },
            "source_date_epoch": self.epoch,
            "python": {"version": recipe.PYTHON_VERSION, "lock_sha256": file_sha256(self.options.lock)},
            "python_wheels": [w.to_dict() for w in wheels],
            "debian": {
                "mirrors": self._sources(),
                "release": release.strip().splitlines(),
                "kernel": kernel_version,
                "packages": packages,
            },
            "recipe": recipe_doc,
        }

    def _embed_identity(self, root: Path, inputs: dict[str, Any], image_id: str) -> None:
        """What the running image says about itself: `tool.image` on every document, and the
        full list of inputs for anyone looking inside the image."""
        identity = {
            "schema": IDENTITY_SCHEMA,
            "image_id": image_id,
            "sanitize_wheel_sha256": inputs["sanitize"]["wheel"]["sha256"],
            "source_date_epoch": self.epoch,
        }
        (root / recipe.VENV.lstrip("/") / recipe.IDENTITY_FILE).write_text(json.dumps(identity, indent=2) + "\n")
        image_dir = root / recipe.IMAGE_DIR.lstrip("/")
        doc = {"schema": MANIFEST_SCHEMA, "image_id": image_id, **inputs}
        (image_dir / "manifest.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")

    # -- outputs --
    def _initrd(self, root: Path) -> int:
        raw = self.work / "initrd.cpio"
        with open(raw, "wb") as fh:
            cpio.write_tree(str(root), fh, clamp_mtime=self.epoch)
        size = raw.stat().st_size
        level = self.options.compression_level
        out = self.output / recipe.INITRD_NAME
        _check(
            self.host.run(["zstd", "-q", "-f", "-T0", f"-{level}", str(raw), "-o", str(out)], timeout=3600),
            "compressing the initramfs",
        )
        raw.unlink()
        return size

    def _iso(self, image_id: str) -> None:
        tree = self.work / "iso"
        (tree / "live").mkdir(parents=True)
        (tree / "boot/grub").mkdir(parents=True)
        shutil.copyfile(self.output / recipe.KERNEL_NAME, tree / "live/vmlinuz")
        shutil.copyfile(self.output / recipe.INITRD_NAME, tree / "live/initrd.img")
        cfg = (FILES / "grub.cfg").read_text()
        cfg = cfg.replace("@IMAGE_ID@", image_id).replace("@TIMEOUT@", str(self.options.grub_timeout))
        (tree / "boot/grub/grub.cfg").write_text(cfg.replace("@APPEND@", "quiet"))
        (tree / "live/image-id.txt").write_text(image_id + "\n")
        uuid_date = dt.datetime.fromtimestamp(self.epoch, dt.UTC).strftime("%Y%m%d%H%M%S00")
        # GRUB finds the ISO by the volume UUID xorriso derives from this date.
        iso_uuid = "-".join(
            [uuid_date[0:4], uuid_date[4:6], uuid_date[6:8], uuid_date[8:10], uuid_date[10:12], uuid_date[12:14], "00"]
        )
        early = self.work / "early.cfg"
        early.write_text(
            f"search --no-floppy --fs-uuid --set=root {iso_uuid}\n"
            "set prefix=($root)/boot/grub\n"
            "configfile $prefix/grub.cfg\n"
        )
        bios_img = tree / "boot/grub/bios.img"
        self._grub_image("i386-pc-eltorito", GRUB_BIOS_DIR, early, bios_img, ("biosdisk",))
        efi_app = self.work / "BOOTX64.EFI"
        self._grub_image("x86_64-efi", GRUB_EFI_DIR, early, efi_app, ())
        efi_img = self.work / "efi.img"
        self._fat_image(efi_img, 4, "EFIBOOT", "5A4E0E00", {"EFI/BOOT/BOOTX64.EFI": efi_app})
        config_img = self.work / "config.img"
        self._fat_image(
            config_img,
            recipe.CONFIG_PARTITION_MIB,
            recipe.CONFIG_LABEL,
            "5A4E0C00",
            {"README.txt": FILES / "config-README.txt", "job.toml.example": FILES / "job.toml.example"},
        )
        iso_out = self.output / recipe.ISO_NAME
        argv = [
            "xorriso",
            "-as",
            "mkisofs",
            "-o",
            str(iso_out),
            "-iso-level",
            "3",
            "-r",
            "-V",
            recipe.LIVE_LABEL,
            "--modification-date=" + uuid_date,
            "--set_all_file_dates",
            f"={self.epoch}",
            # BIOS: GRUB's hybrid MBR boots it from a USB disk, the El Torito image from a CD.
            "--grub2-mbr",
            f"{GRUB_BIOS_DIR}/boot_hybrid.img",
            "-partition_offset",
            "16",
            "--mbr-force-bootable",
            # UEFI: the FAT image is both an MBR partition (USB) and the El Torito EFI image (CD).
            "-append_partition",
            "2",
            "0xef",
            str(efi_img),
            # The config partition (FAT, label SANITIZE): jobs in, results out, on a USB stick.
            "-append_partition",
            "3",
            "0x0c",
            str(config_img),
            "-c",
            "boot/boot.cat",
            "-b",
            "boot/grub/bios.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "--grub2-boot-info",
            "-eltorito-alt-boot",
            "-e",
            "--interval:appended_partition_2:all::",
            "-no-emul-boot",
            str(tree),
        ]
        _check(self.host.run(argv, timeout=1800), "writing the ISO")

    def _grub_image(self, fmt: str, directory: str, early: Path, out: Path, extra: tuple[str, ...]) -> None:
        argv = ["grub-mkimage", "-O", fmt, "-d", directory, "-p", "/boot/grub", "-c", str(early), "-o", str(out)]
        _check(self.host.run([*argv, *GRUB_MODULES, *extra], timeout=300), f"grub-mkimage {fmt}")

    def _fat_image(self, path: Path, mib: int, label: str, volume_id: str, files: dict[str, Path]) -> None:
        """A FAT image with fixed volume id and dates (mkfs.vfat --invariant, mcopy -m)."""
        env = {"SOURCE_DATE_EPOCH": str(self.epoch)}
        with open(path, "wb") as fh:
            fh.truncate(mib * 1024 * 1024)
        _check(
            self.host.run(["mkfs.vfat", "--invariant", "-i", volume_id, "-n", label, str(path)], timeout=60, env=env),
            "mkfs.vfat",
        )
        for dest, src in sorted(files.items()):
            parts = dest.split("/")
            for depth in range(1, len(parts)):
                sub = "::/" + "/".join(parts[:depth])
                self.host.run(["mmd", "-D", "s", "-i", str(path), sub], timeout=60, env=env)
            staged = self.work / f"fat-{parts[-1]}"
            shutil.copyfile(src, staged)
            os.utime(staged, (self.epoch, self.epoch))
            _check(
                self.host.run(["mcopy", "-m", "-o", "-i", str(path), str(staged), "::/" + dest], timeout=60, env=env),
                "mcopy",
            )


# --- the lock ------------------------------------------------------------------------------------


def tested_constraints() -> str | None:
    """The checkout's tested set (constraints/tested.txt), which the image's lock keeps to."""
    path = Path(__file__).resolve().parents[2] / "constraints" / "tested.txt"
    return str(path) if path.is_file() else None


def project_requirements() -> list[str]:
    """The tool's own runtime requirements, as its installed metadata declares them."""
    from importlib import metadata

    try:
        declared = metadata.requires("sanitize") or []
    except metadata.PackageNotFoundError:
        raise BadInput("sanitize is not installed (pip install -e .), so its requirements are unknown") from None
    return sorted(r for r in declared if "extra ==" not in r)


def write_lock(host: Host, output: str, *, constraints: str | None = None, index_url: str | None = None) -> list[Wheel]:
    """Resolve today's releases (within `constraints`, if given) for the image's Python and
    platform, and write them as `name==version --hash=sha256:...` lines."""
    with tempfile.TemporaryDirectory(prefix="sanitize-lock-") as tmp:
        argv = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "download", "--dest", tmp]
        if index_url:
            argv += ["--index-url", index_url]
        if constraints:
            argv += ["-c", constraints]
        _check(host.run([*argv, *platform_args(), *project_requirements()], timeout=900), "resolving the lock")
        wheels = []
        for path in sorted(Path(tmp).glob("*.whl")):
            name, version = wheel_name_version(path.name)
            wheels.append(Wheel(name, version, path.name, file_sha256(path)))
    lines = [
        "# Python packages of the sanitize live image (CPython "
        f"{recipe.PYTHON_VERSION}, manylinux x86_64), pinned by SHA-256.",
        "# The image build installs exactly these (pip --require-hashes). Refresh with:",
        "#   sanitize image lock --output sanitize/image/python.lock",
    ]
    if constraints:
        where = os.path.join(os.path.basename(os.path.dirname(constraints)), os.path.basename(constraints))
        lines.append(f"# Versions kept within {where}.")
    for wheel in sorted(wheels, key=lambda w: w.name):
        lines.append(f"{wheel.name}=={wheel.version} \\\n    --hash=sha256:{wheel.sha256}  # {wheel.filename}")
    Path(output).write_text("\n".join(lines) + "\n")
    return wheels
