"""Real block devices for tests: loop devices, partitions, filesystems, mounts, LUKS.

`LoopLab` records everything it creates and `cleanup()` undoes it in reverse order, even
after a failed test, so no loop device or mount outlives the test that made it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

ENV = dict(os.environ, LC_ALL="C")


def sh(*argv: str, input: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, env=ENV, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def device_sha256(path: str, chunk: int = 4 << 20) -> str:
    """Hash a whole device read with O_DIRECT-free buffered reads after dropping caches."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            data = os.read(fd, chunk)
            if not data:
                break
            h.update(data)
    finally:
        os.close(fd)
    return h.hexdigest()


@dataclass
class LoopLab:
    workdir: str
    loops: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)

    def image(self, size: str = "64M", name: str | None = None) -> str:
        fd, path = tempfile.mkstemp(prefix=name or "img", suffix=".img", dir=self.workdir)
        os.close(fd)
        sh("truncate", "-s", size, path)
        return path

    def loop(
        self,
        size: str = "64M",
        *,
        sector_size: int = 512,
        direct_io: bool = True,
        read_only: bool = False,
        image: str | None = None,
        preallocate: bool = False,
    ) -> str:
        path = image or self.image(size)
        if preallocate:
            sh("fallocate", "-l", size, path)
        argv = ["losetup", "-f", "--show", "--sector-size", str(sector_size)]
        if direct_io:
            argv.append("--direct-io=on")
        if read_only:
            argv.append("--read-only")
        dev = sh(*argv, path).strip()
        self.loops.append(dev)
        return dev

    def gpt(self, dev: str, *sizes: str) -> list[str]:
        """Partition with GPT: one partition per size ("" = rest of the disk)."""
        script = "label: gpt\n" + "".join(f",{s},L\n" for s in sizes)
        sh("sfdisk", "-q", dev, input=script)
        sh("partx", "-u", dev)
        parts = [f"{dev}p{i}" for i in range(1, len(sizes) + 1)]
        for part in parts:
            _wait_for(part)
        return parts

    def mkfs(self, dev: str, fstype: str, label: str | None = None) -> None:
        if fstype == "ext4":
            sh("mkfs.ext4", "-q", "-F", *(["-L", label] if label else []), dev)
        elif fstype == "xfs":
            sh("mkfs.xfs", "-q", "-f", *(["-L", label] if label else []), dev)
        elif fstype == "btrfs":
            sh("mkfs.btrfs", "-q", "-f", *(["-L", label] if label else []), dev)
        elif fstype == "swap":
            sh("mkswap", *(["-L", label] if label else []), dev)
        else:
            raise ValueError(fstype)

    def luks(self, dev: str, version: int = 2, key: bytes = b"test-passphrase", header: str | None = None) -> str:
        """luksFormat with a fast KDF; `header` puts the LUKS header in that file (detached)."""
        keyfile = os.path.join(self.workdir, f"key-{os.path.basename(dev)}")
        with open(keyfile, "wb") as fh:
            fh.write(key)
        if version == 2:
            kdf = ["--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]
        else:
            kdf = ["--type", "luks1", "--iter-time", "1"]
        detached = ["--header", header] if header else []
        sh("cryptsetup", "luksFormat", "-q", *kdf, "--key-file", keyfile, *detached, dev)
        return keyfile

    def mount(self, dev: str, *options: str) -> str:
        mnt = tempfile.mkdtemp(prefix="mnt", dir=self.workdir)
        sh("mount", *(["-o", ",".join(options)] if options else []), dev, mnt)
        self.mounts.append(mnt)
        return mnt

    def umount(self, mnt: str) -> None:
        sh("umount", mnt)
        self.mounts.remove(mnt)

    def detach(self, dev: str) -> None:
        subprocess.run(["partx", "-d", dev], capture_output=True, check=False)
        sh("losetup", "-d", dev)
        self.loops.remove(dev)

    def cleanup(self) -> list[str]:
        problems: list[str] = []
        for mnt in reversed(self.mounts):
            if subprocess.run(["umount", mnt], capture_output=True, check=False).returncode:
                subprocess.run(["umount", "-l", mnt], capture_output=True, check=False)
                problems.append(f"lazy-unmounted {mnt}")
        self.mounts.clear()
        for dev in reversed(self.loops):
            # Partitions added with BLKPG (partx) survive LOOP_CLR_FD on this kernel; drop them
            # first, or the next test that gets this loop number inherits phantom partitions.
            subprocess.run(["partx", "-d", dev], capture_output=True, check=False)
            for _ in range(20):
                if subprocess.run(["losetup", "-d", dev], capture_output=True, check=False).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                problems.append(f"could not detach {dev}")
        self.loops.clear()
        return problems


def _wait_for(path: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear")
        time.sleep(0.02)


def system_devno() -> str:
    """major:minor of the filesystem the tests run on: the running system's disk (also in a chroot,
    where no mount of "/" is visible)."""
    st = os.stat("/")
    return f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
