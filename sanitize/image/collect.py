"""Sending a live run's results to a collection point, served by an ordinary tool:

- `rsync://host[:port]/module/path/`: an rsync daemon (cleartext: use it on the provisioning
  network only); the run becomes the directory `path/<run>/`.
- `sftp://user@host[:port]/path/`: an SSH server; the key is collect/id_ed25519 on the config
  partition and the server must be in collect/known_hosts (no trust on first use).
- `https://host/path/`: an HTTP server accepting PUT (nginx or Apache WebDAV); the run is
  uploaded as `path/<run>.tar`; collect/ca.pem pins the server's CA.

The network comes up with DHCP on the wired interfaces (busybox udhcpc) unless one already has
a default route. Certificates and the archive are signed, so the transport adds confidentiality
at most; the collector merges each run's archive with `sanitize archive merge`.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Mapping

from sanitize.errors import ExitCode, SanitizeError
from sanitize.hw import Host
from sanitize.image import recipe
from sanitize.state import write_private

DHCP_SCRIPT = f"{recipe.IMAGE_DIR}/udhcpc.script"
ATTEMPTS = 4


class CollectFailed(SanitizeError):
    """The results could not be sent (they are still on the config partition, if there is one)."""

    exit_code = ExitCode.FAILED


def wired_interfaces(host: Host) -> list[str]:
    names = [n for n in host.list_sys("class", "net") if n != "lo"]
    # type 1 is Ethernet (ARPHRD_ETHER); a wireless interface has a `wireless` directory.
    return [
        n
        for n in names
        if host.read_sys("class", "net", n, "type") == "1" and not host.list_sys("class", "net", n, "wireless")
    ]


def bring_up_network(host: Host, say: Callable[[str], None]) -> str:
    """DHCP on the wired interfaces, those with a link first; returns the one that got a lease."""
    if host.run(["ip", "-4", "route", "show", "default"], timeout=10).stdout.strip():
        return "configured"
    interfaces = wired_interfaces(host)
    if not interfaces:
        raise CollectFailed("no wired network interface (is its driver in the image? see docs/live-image.md)")
    for name in interfaces:
        host.run(["ip", "link", "set", name, "up"], timeout=10)

    def linked(name: str) -> bool:
        return host.read_sys("class", "net", name, "carrier") == "1"

    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not any(linked(n) for n in interfaces):
        time.sleep(0.5)
    interfaces.sort(key=lambda n: not linked(n))
    for name in interfaces:
        argv = ["busybox", "udhcpc", "-i", name, "-f", "-q", "-n", "-t", "4", "-T", "3", "-s", DHCP_SCRIPT]
        if host.run(argv, timeout=60).ok:
            say(f"network: {name} configured by DHCP")
            return name
    raise CollectFailed(f"no DHCP lease on {', '.join(interfaces)}")


def _tar(local_dir: str, name: str, out: str) -> None:
    """A tar of the run directory, in name order, with neutral owners (same input, same bytes)."""

    def neutral(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            for entry in sorted(files):
                path = os.path.join(root, entry)
                tar.add(path, arcname=f"{name}/{os.path.relpath(path, local_dir)}", filter=neutral)


def upload_argv(url: str, local_dir: str, name: str, creds: str, files: Mapping[str, bytes]) -> list[list[str]]:
    """The commands that send `local_dir` as `name` to `url` (without running them)."""
    parsed = urllib.parse.urlsplit(url)
    base = url.rstrip("/")
    if parsed.scheme == "rsync":
        return [["rsync", "-r", "--timeout=120", "--chmod=D700,F600", f"{local_dir}/", f"{base}/{name}/"]]
    if parsed.scheme == "sftp":
        if "id_ed25519" not in files or "known_hosts" not in files:
            raise CollectFailed("sftp collection needs collect/id_ed25519 and collect/known_hosts (config partition)")
        batch = os.path.join(creds, "sftp.batch")
        remote = parsed.path.rstrip("/") or "."
        remote = remote.lstrip("/") if remote.startswith("/~/") else remote
        with open(batch, "w") as fh:
            fh.write(f'-mkdir "{remote}/{name}"\nput -r "{local_dir}/." "{remote}/{name}"\n')
        argv = ["sftp", "-b", batch, "-i", os.path.join(creds, "id_ed25519")]
        argv += ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        argv += ["-o", f"UserKnownHostsFile={os.path.join(creds, 'known_hosts')}", "-o", "ConnectTimeout=30"]
        if parsed.port:
            argv += ["-P", str(parsed.port)]
        user = f"{parsed.username}@" if parsed.username else ""
        return [[*argv, f"{user}{parsed.hostname}"]]
    if parsed.scheme == "https":
        tarball = os.path.join(creds, f"{name}.tar")
        _tar(local_dir, name, tarball)
        argv = ["curl", "--fail", "--silent", "--show-error", "--max-time", "600", "-T", tarball]
        if "ca.pem" in files:
            argv += ["--cacert", os.path.join(creds, "ca.pem")]
        return [[*argv, f"{base}/{name}.tar"]]
    raise CollectFailed(f"unsupported collection URL {url!r}")


def send(
    host: Host,
    url: str,
    local_dir: str,
    name: str,
    files: Mapping[str, bytes],
    *,
    say: Callable[[str], None],
    scratch: str = "/run",
) -> None:
    """Send `local_dir` as `name`; the keys in `files` are written to `scratch` (a tmpfs in the
    image: they never touch a disk) for the upload only."""
    bring_up_network(host, say)
    with tempfile.TemporaryDirectory(prefix="collect-", dir=scratch) as creds:
        for entry, data in files.items():
            write_private(os.path.join(creds, entry), data)
        for argv in upload_argv(url, local_dir, name, creds, files):
            for attempt in range(1, ATTEMPTS + 1):
                result = host.run(argv, timeout=900)
                if result.ok:
                    break
                tail = (result.stderr or result.stdout).strip().splitlines()
                why = tail[-1] if tail else f"exit {result.returncode}"
                say(f"collection: {argv[0]} failed ({why}); attempt {attempt} of {ATTEMPTS}")
                if attempt == ATTEMPTS:
                    raise CollectFailed(f"results not sent to {_redact(url)}: {why}")
                time.sleep(5 * attempt)
    say(f"results sent to {_redact(url)} as {name}")


def _redact(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))
    return url
