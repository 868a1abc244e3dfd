"""A throw-away "AI server" built from loop devices, to try `sanitize decommission` safely.

`up` creates four small image files, attaches each to a loop device and fills it like the
disks of an inference server would be:

    system   ext4, stays MOUNTED (so it is protected, as a boot disk would be)
    data     ext4, an Ollama-like models dir (GGUF blob + manifest) and a chat database
    cache    ext4, NOT mounted: the forgotten auxiliary volume, with a SQLite embedding store
             (float32 x 384, privileged-memo text) and a GGUF model
    vault    LUKS2 (fast pbkdf2 key kept in the lab dir)

The lab file (`lab.json` in the 0700 lab dir) is rewritten after every step, so `down`
removes exactly what `up` made even after a crash: it unmounts what is mounted below the
lab dir, finds every loop device backed by the lab's images (`losetup -j`, so a device
attached just before a crash is found too), drops its partitions (`partx -d`, they survive
LOOP_CLR_FD on this kernel), detaches it and deletes the images. It never touches a loop
device whose backing file is not one of the lab's images.

Everything here is synthetic: the memo text and vectors are generated, not real data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import sqlite3
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sanitize.errors import BadInput, Refused, ToolMissing
from sanitize.hw import loop
from sanitize.hw.commands import PACKAGES
from sanitize.hw.host import Host
from sanitize.hw.mount import is_mounted, mount, umount
from sanitize.state import make_private_dir, write_private

LAB_SCHEMA = "sanitize.lab/1"
LAB_FILE = "lab.json"
FIXTURES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "artifacts")
EMBEDDING_DIM = 384
EMBEDDING_ROWS = 300
# A phrase every synthetic memo contains: tests look for it in the raw device bytes.
MEMO_MARKER = "PRIVILEGED AND CONFIDENTIAL lab memo"

Say = Callable[[str], None]


@dataclass
class Volume:
    role: str
    size: str
    kind: str  # ext4 | luks2
    image: str
    stays_mounted: bool = False
    loop: str | None = None
    mountpoint: str | None = None
    mounted: bool = False
    keyfile: str | None = None
    contents: list[str] = field(default_factory=list)  # relative paths planted (names, not content)

    @property
    def identity(self) -> str | None:
        """What `--confirm` expects: loop devices have no serial, so their kernel name."""
        return os.path.basename(self.loop) if self.loop else None


@dataclass
class LabState:
    directory: str
    volumes: list[Volume] = field(default_factory=list)
    created_at: str = ""
    complete: bool = False

    @property
    def path(self) -> str:
        return os.path.join(self.directory, LAB_FILE)

    @property
    def state_dir(self) -> str:
        """The demo's own state dir (keys, certificates, archive): never the operator's real one."""
        return os.path.join(self.directory, "state")

    def volume(self, role: str) -> Volume:
        for vol in self.volumes:
            if vol.role == role:
                return vol
        raise BadInput(f"the lab has no {role} volume")

    def devices(self) -> list[str]:
        return [v.loop for v in self.volumes if v.loop]

    def erasable(self) -> list[Volume]:
        return [v for v in self.volumes if v.loop and not v.stays_mounted]

    def save(self) -> None:
        doc: dict[str, Any] = {"schema": LAB_SCHEMA, "directory": self.directory, "created_at": self.created_at}
        doc |= {"complete": self.complete, "volumes": [asdict(v) for v in self.volumes]}
        write_private(self.path, (json.dumps(doc, indent=2) + "\n").encode())

    def to_dict(self, host: Host) -> dict[str, Any]:
        """The lab file's record, and whether each volume is attached and mounted right now."""
        vols = []
        for v in self.volumes:
            attached = bool(v.loop) and loop.backing_file(host, v.loop or "") == v.image
            mounted = bool(v.mountpoint) and is_mounted(host, v.mountpoint or "")
            vols.append(asdict(v) | {"identity": v.identity, "attached": attached, "mounted": mounted})
        return {
            "schema": LAB_SCHEMA,
            "directory": self.directory,
            "created_at": self.created_at,
            "complete": self.complete,
            "state_dir": self.state_dir,
            "volumes": vols,
        }


def load(directory: str) -> LabState | None:
    path = os.path.join(directory, LAB_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: unreadable lab file ({exc})") from None
    if doc.get("schema") != LAB_SCHEMA:
        raise BadInput(f"{path}: not a sanitize lab file")
    lab = LabState(directory, created_at=doc.get("created_at", ""), complete=bool(doc.get("complete")))
    lab.volumes = [Volume(**v) for v in doc.get("volumes", [])]
    return lab


def _layout(directory: str) -> list[Volume]:
    img = os.path.join(directory, "images")
    return [
        Volume("system", "40M", "ext4", os.path.join(img, "system.img"), stays_mounted=True),
        Volume("data", "48M", "ext4", os.path.join(img, "data.img")),
        Volume("cache", "40M", "ext4", os.path.join(img, "cache.img")),
        Volume("vault", "24M", "luks2", os.path.join(img, "vault.img"), keyfile=os.path.join(directory, "vault.key")),
    ]


def _private_dir(path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o755, exist_ok=True)
    make_private_dir(path)  # refuses one that another user owns or could write


# Checked before anything is made: a newcomer missing one of them gets one line naming every
# package, instead of a half-built lab taken down again.
LAB_PROGRAMS = ("truncate", "losetup", "mkfs.ext4", "cryptsetup", "mount", "umount")


def _require_programs(host: Host) -> None:
    missing = [program for program in LAB_PROGRAMS if not host.have(program)]
    if missing:
        packages = sorted({PACKAGES.get(program, program) for program in missing})
        raise ToolMissing(
            f"the lab needs {', '.join(missing)}, not installed", hint=f"apt-get install {' '.join(packages)}"
        )


def up(host: Host, directory: str, say: Say = lambda _m: None) -> LabState:
    """Build the lab; refuse when one is already up in `directory` (run `down` first)."""
    existing = load(directory)
    if existing is not None:
        raise Refused(f"a lab is already set up in {directory}", hint="run `sanitize lab down` first")
    _require_programs(host)
    _private_dir(directory)
    _private_dir(os.path.join(directory, "images"))
    lab = LabState(directory, created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    lab.volumes = _layout(directory)
    lab.save()  # before any image exists, so `down` after a crash knows where to look
    try:
        for vol in lab.volumes:
            _build(host, lab, vol, say)
    except BaseException:
        say("lab: setup failed, removing what was made")
        with contextlib.suppress(Exception):
            down(host, directory, say)
        raise
    lab.complete = True
    lab.save()
    return lab


def _build(host: Host, lab: LabState, vol: Volume, say: Say) -> None:
    with open(vol.image, "wb"):
        pass
    os.chmod(vol.image, 0o600)
    host.run(["truncate", "-s", vol.size, vol.image], check=True)
    vol.loop = loop.attach(host, vol.image)
    lab.save()
    say(f"lab: {vol.role}: {vol.loop} ({vol.size}, {vol.kind})")
    if vol.kind == "luks2":
        _write_key(vol)
        host.run(
            [
                "cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
                "--pbkdf-force-iterations", "1000", "--key-file", str(vol.keyfile), vol.loop,
            ],
            timeout=120,
            check=True,
        )  # fmt: skip
        lab.save()
        return
    # No lazy init: ext4 would otherwise keep writing inode tables after mount, and the
    # dry-run test compares device hashes.
    mkfs = ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", "-L", f"lab-{vol.role}"]
    host.run([*mkfs, vol.loop], timeout=120, check=True)
    vol.mountpoint = os.path.join(lab.directory, "mnt", vol.role)
    _private_dir(vol.mountpoint)
    mount(host, vol.loop, vol.mountpoint, fstype="ext4", options="noatime")
    vol.mounted = True
    lab.save()
    vol.contents = POPULATE[vol.role](vol.mountpoint)
    # Flush now, so a mounted lab volume is quiet afterwards (tests hash it across a dry run).
    host.run(["sync", "-f", vol.mountpoint], timeout=60, check=True)
    if not vol.stays_mounted:
        umount(host, vol.mountpoint)
        vol.mounted = False
    lab.save()


def _write_key(vol: Volume) -> None:
    assert vol.keyfile is not None
    write_private(vol.keyfile, os.urandom(32))


# --- contents ---------------------------------------------------------------------------


def tiny_gguf(architecture: str = "llama", name: str = "lab-tiny") -> bytes:
    """A valid GGUF v3 file with a few general.* keys and no tensors."""

    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    kvs = [
        string("general.architecture") + struct.pack("<I", 8) + string(architecture),
        string("general.name") + struct.pack("<I", 8) + string(name),
        string("general.file_type") + struct.pack("<I", 4) + struct.pack("<I", 15),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    pad = (-len(header)) % 32  # general.alignment default: data section starts aligned
    return header + b"\0" * pad


def _gguf_bytes() -> bytes:
    """The committed llama.cpp-written fixture when this is a checkout, else our own header."""
    path = os.path.join(FIXTURES_DIR, "weights", "gguf", "tiny.gguf")
    try:
        if os.path.getsize(path) <= 1 << 20:
            with open(path, "rb") as fh:
                data = fh.read()
            if data[:4] == b"GGUF":
                return data
    except OSError:
        pass
    return tiny_gguf()


def _write(root: str, rel: str, data: bytes, mode: int = 0o640) -> str:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
    return rel


def _memo(rng: random.Random, n: int) -> str:
    clients = ("Avery Holdings", "Brightwater LLC", "Cobalt Partners", "Dunmore Trust")
    topics = ("settlement strategy", "witness preparation", "merger due diligence", "regulatory exposure")
    return (
        f"{MEMO_MARKER} #{n}: counsel's notes for {rng.choice(clients)} on {rng.choice(topics)}; "
        "attorney work product, do not forward."
    )


def embedding_store(path: str, rows: int = EMBEDDING_ROWS, dim: int = EMBEDDING_DIM, seed: int = 7) -> None:
    """A RAG store like many apps write: chunk text plus a float32 vector BLOB per row."""
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, document TEXT, embedding BLOB)")
        for i in range(rows):
            vec = [rng.gauss(0.0, 0.05) for _ in range(dim)]
            con.execute(
                "INSERT INTO chunks (document, embedding) VALUES (?, ?)",
                (_memo(rng, i), struct.pack(f"<{dim}f", *vec)),
            )
        con.commit()
    finally:
        con.close()


def chat_db(path: str, seed: int = 11) -> None:
    """A chat history database (Open WebUI-like `chat` table with JSON messages)."""
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE user (id TEXT PRIMARY KEY, name TEXT, email TEXT, role TEXT)")
        con.execute("CREATE TABLE auth (id TEXT PRIMARY KEY, email TEXT, password TEXT, active INTEGER)")
        con.execute("CREATE TABLE chat (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, chat TEXT, created_at INTEGER)")
        con.execute("INSERT INTO user VALUES ('user-1', 'Lab User', 'lab@example.invalid', 'admin')")
        for i in range(20):
            messages = [
                {"role": "user", "content": f"Summarise {_memo(rng, 1000 + i)}"},
                {"role": "assistant", "content": "Summary of the synthetic memo."},
            ]
            con.execute(
                "INSERT INTO chat VALUES (?, ?, ?, ?, ?)",
                (f"chat-{i}", "user-1", f"Matter {i}", json.dumps({"messages": messages}), 1700000000 + i),
            )
        con.commit()
    finally:
        con.close()


def _populate_system(root: str) -> list[str]:
    return [
        _write(root, "etc/hostname", b"ai-lab-01\n", 0o644),
        _write(root, "etc/ollama.env", b"OLLAMA_MODELS=/srv/data/ollama/models\n", 0o644),
        _write(root, "var/log/boot.log", b"lab system volume\n", 0o644),
    ]


def _populate_data(root: str) -> list[str]:
    gguf = _gguf_bytes()
    digest = hashlib.sha256(gguf).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}"}],
    }
    planted = [
        _write(root, f"ollama/models/blobs/sha256-{digest}", gguf),
        _write(
            root, "ollama/models/manifests/registry.ollama.ai/library/lab-tiny/latest", json.dumps(manifest).encode()
        ),
    ]
    os.makedirs(os.path.join(root, "open-webui"), mode=0o750, exist_ok=True)
    chat_db(os.path.join(root, "open-webui", "webui.db"))
    planted.append("open-webui/webui.db")
    return planted


def _populate_cache(root: str) -> list[str]:
    os.makedirs(os.path.join(root, "rag"), mode=0o755, exist_ok=True)
    embedding_store(os.path.join(root, "rag", "memos.sqlite"))
    os.chmod(os.path.join(root, "rag", "memos.sqlite"), 0o644)  # world-readable, as such caches often are
    return ["rag/memos.sqlite", _write(root, "models/lab-tiny-q4.gguf", _gguf_bytes())]


POPULATE: dict[str, Callable[[str], list[str]]] = {
    "system": _populate_system,
    "data": _populate_data,
    "cache": _populate_cache,
}


# --- teardown ---------------------------------------------------------------------------


def down(host: Host, directory: str, say: Say = lambda _m: None, *, remove_state: bool = False) -> list[str]:
    """Undo `up`: unmount, drop partitions, detach, delete images. Returns what was removed."""
    lab = load(directory)
    # Without the lab file (a crash, or a hand-deleted file) only the lab's own layout is
    # looked for: `--dir` pointed at some other directory must never lose its images or mounts.
    volumes = lab.volumes if lab else _layout(directory)
    images = {v.image for v in volumes if lab is not None or os.path.exists(v.image)}
    if lab is None and not images:
        raise BadInput(f"{directory}: no lab here (no {LAB_FILE}, no lab images): nothing removed")
    done: list[str] = []
    for target in lab_mounts(host, directory):
        umount(host, target)
        done.append(f"unmounted {target}")
    for image in sorted(images):
        for dev in _loops_of(host, image, volumes):
            loop.detach(host, dev)
            done.append(f"detached {dev}")
    for image in sorted(images):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(image)
            done.append(f"deleted {image}")
    for vol in volumes:
        if vol.keyfile:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(vol.keyfile)
    for sub in ("mnt", "images"):
        path = os.path.join(directory, sub)
        if os.path.isdir(path):
            _remove_empty_tree(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(directory, LAB_FILE))
    if remove_state and os.path.isdir(os.path.join(directory, "state")):
        shutil.rmtree(os.path.join(directory, "state"))
        done.append(f"deleted {os.path.join(directory, 'state')}")
    with contextlib.suppress(OSError):
        os.rmdir(directory)  # only when nothing (e.g. demo certificates) is left in it
    for line in done:
        say(f"lab: {line}")
    return done


def lab_mounts(host: Host, directory: str) -> list[str]:
    """Mountpoints below the lab's mnt/ directory, deepest first."""
    base = os.path.join(os.path.realpath(directory), "mnt") + "/"
    ours = [m.mountpoint for m in host.mounts() if m.mountpoint.startswith(base)]
    return sorted(set(ours), key=len, reverse=True)


def _loops_of(host: Host, image: str, volumes: list[Volume]) -> list[str]:
    found = set(loop.loops_backed_by(host, image))
    for vol in volumes:
        # Only a device that is still backed by this very image: after a reboot the number
        # recorded may belong to somebody else now.
        if vol.image == image and vol.loop and loop.backing_file(host, vol.loop) == image:
            found.add(vol.loop)
    return sorted(found)


def _remove_empty_tree(path: str) -> None:
    """Remove empty directories bottom-up; never delete files (a failed umount leaves data there)."""
    for root, dirs, _files in os.walk(path, topdown=False):
        for d in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, d))
    with contextlib.suppress(OSError):
        os.rmdir(path)
