"""`Host` is the only way to the machine (docs/architecture.md, "One way to the machine").

Read from the source of every module outside `sanitize.hw`: no module starts processes,
issues ioctls, asks for the uid or builds the real machine (`LinuxHost`) on its own; those go
through the `Host` it is handed. The few modules that touch the operating system directly do
it for the reasons docs/architecture.md lists (the tool's own files, files the operator
names, the trees the scanner walks, memory buffers); they are listed here with what they may
use, so a new direct use is a decision someone writes down, not an accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sanitize"

# Modules whose import alone means reaching the machine (processes, ioctls, udev, raw memory).
MACHINE_MODULES = {"subprocess", "fcntl", "ctypes", "pyudev", "mmap", "multiprocessing", "socket"}
# `os` functions that reach the machine: files and devices, processes, identity.
MACHINE_OS_CALLS = {
    "open",
    "stat",
    "lstat",
    "fstat",
    "statvfs",
    "fsync",
    "posix_fadvise",
    "geteuid",
    "getuid",
    "kill",
    "fork",
    "system",
    "popen",
    "execv",
    "execvp",
    "mknod",
    "major",
    "minor",
    "makedev",
}

# module -> what it may use directly, and why (keep in step with docs/architecture.md).
ALLOWED: dict[str, set[str]] = {
    # The one place that builds the real machine, once per command.
    "sanitize.cli": {"LinuxHost"},
    # The tool's own files: the 0700 state directory (its owner compared with our uid),
    # results, the archive and its lock, journals.
    "sanitize.state": {"os.open", "os.stat", "os.lstat", "os.fstat", "os.fsync", "os.geteuid"},
    "sanitize.erase.record": {"os.open", "fcntl"},
    "sanitize.erase.journal": {"os.stat"},
    "sanitize.certify.archive.store": {"os.open", "os.fsync", "fcntl"},
    # The live image build's own files: the lock on its package cache, and the root tree it
    # made, read back into the initramfs (device numbers of its device nodes included).
    "sanitize.image.build": {"fcntl"},
    "sanitize.image.cpio": {"os.lstat", "os.major", "os.minor"},
    # Files the operator names on the command line.
    "sanitize.inputs": {"os.open", "os.fstat"},
    "sanitize.outputs": {"os.stat", "os.lstat", "os.statvfs"},
    # The directory trees the scanner walks, with its own no-follow, no-FIFO rules, and its
    # forked worker processes (copies of the scanner).
    "sanitize.detect.base": {"os.open", "os.fstat"},
    "sanitize.detect.nofollow": {"os.open", "ctypes"},
    "sanitize.detect.dir_files": {"os.fstat"},
    "sanitize.detect.sqlite_readonly": {"os.fstat"},
    "sanitize.scan.scanner": {"os.stat", "multiprocessing"},
    "sanitize.scan.pool": {"multiprocessing"},
    # Erase's worker process per device when several run: forked copies of this process that
    # run each plan through the same Host; the stop relayed as a signal, the parent-death
    # signal (prctl), and the mtime of the device's journal when a worker is lost.
    "sanitize.erase.workers": {"multiprocessing", "os.fork", "os.kill", "ctypes", "os.stat"},
    "sanitize.scan.walk": {"os.fstat"},
    # The readahead helper process itself (started through `Host.spawn`; the import is for the type).
    "sanitize.readahead": {"os.fstat", "os.posix_fadvise", "subprocess"},
    # Page-aligned memory for O_DIRECT reads and writes, and memcmp over it.
    "sanitize.erase.buffers": {"mmap", "ctypes"},
    "sanitize.carve.reader": {"mmap"},
    "sanitize.purge.snapshot": {"mmap"},
    "sanitize.purge.methods.luks": {"mmap"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def machine_uses(path: Path) -> set[str]:
    """What `path` uses of MACHINE_MODULES, MACHINE_OS_CALLS, and whether it builds a LinuxHost."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in MACHINE_MODULES)
        elif isinstance(node, ast.ImportFrom):
            top = (node.module or "").split(".")[0]
            if node.level == 0 and top in MACHINE_MODULES:
                found.add(top)
            if top == "os":
                found.update(f"os.{a.name}" for a in node.names if a.name in MACHINE_OS_CALLS)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr in MACHINE_OS_CALLS:
                found.add(f"os.{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "LinuxHost":
            found.add("LinuxHost")
    return found


OUTSIDE_HW = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if not module_name(p).startswith("sanitize.hw")}


@pytest.mark.parametrize("module", sorted(OUTSIDE_HW))
def test_only_hw_reaches_the_machine(module: str) -> None:
    extra = machine_uses(OUTSIDE_HW[module]) - ALLOWED.get(module, set())
    assert not extra, f"{module} uses {sorted(extra)} directly: go through the Host it is handed (sanitize.hw)"


def test_the_allowances_are_still_needed() -> None:
    """An allowance nothing uses any more goes, so the list stays the truth."""
    stale = {m: sorted(a - machine_uses(OUTSIDE_HW[m])) for m, a in ALLOWED.items() if m in OUTSIDE_HW}
    assert not {m: a for m, a in stale.items() if a}
    assert set(ALLOWED) <= set(OUTSIDE_HW)


def test_the_check_sees_real_uses() -> None:
    """A guard for the check above: it does find what hw/ uses."""
    assert "subprocess" in machine_uses(PACKAGE / "hw" / "commands.py")
    assert "os.geteuid" in machine_uses(PACKAGE / "hw" / "linux.py")
    assert "LinuxHost" in machine_uses(PACKAGE / "cli" / "__init__.py")
