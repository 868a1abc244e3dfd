"""Trust boundaries under attack (issue 19): each attack, tried as an attacker would, is refused
or detected. docs/threat-model.md lists every boundary with the test here that holds it.

The attacker is an unprivileged local user (`nobody`, via setpriv) who can write somewhere root
is about to look or write; a careless operator (a world-writable state directory, an output
path in a missing directory); or someone holding an old archive export.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import stat
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from sanitize.certify.archive import Archive
from sanitize.certify.keys import load_signer
from sanitize.erase.record import record_result
from sanitize.state import StateDir
from tests.support.attacker import (
    NOBODY,
    PYTHON,
    OpenWatch,
    as_nobody,
    attacker_dir,
    nobody_argv,
    nobody_python,
    public_tmp,
)
from tests.support.certify import erase_result, issue, recorded, state_with_keys
from tests.support.journal import interrupt_during_write
from tests.support.lab import LoopLab, device_sha256

pytestmark = pytest.mark.root


def cli(state: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sanitize", "--state-dir", state, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if "CryptographyDeprecationWarning" not in line]
    lines = [line for line in lines if not line.lstrip().startswith("from cryptography")]
    errors = [line for line in lines if line.startswith("sanitize: error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def private_key_anywhere(root: str) -> list[str]:
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                if b"PRIVATE KEY" in Path(path).read_bytes():
                    found.append(path)
            except OSError:
                pass
    return found


# --- 1. the state directory and the signing key -----------------------------------------------

PLANT_TEMP_LINKS = """
import os, sys
keys, loot = sys.argv[1], sys.argv[2]
if not os.path.exists(keys):
    os.mkdir(keys)
    os.chmod(keys, 0o777)
open(loot, "w").close()
os.chmod(loot, 0o666)
os.link(loot, loot + ".hardlink")  # kept elsewhere: the attacker reads the key from here
pid = os.getpid()
for p in range(pid, pid + 3000):  # every <path>.tmp.<pid> the old write_private could pick next
    for name in ("signer.key", "signer.pem", "record.key"):
        os.symlink(loot, f"{keys}/{name}.tmp.{p}")
"""


@pytest.mark.parametrize("setup", ["world-writable", "owned-by-attacker", "keys-world-writable", "keys-symlink"])
def test_keys_init_refuses_a_state_directory_the_attacker_can_write(setup: str) -> None:
    with public_tmp() as base:
        loot_dir = attacker_dir(base)
        state = os.path.join(base, "state")
        keys = os.path.join(state, "keys")
        if setup == "world-writable":  # a careless operator made it
            os.mkdir(state)
            os.chmod(state, 0o777)
        elif setup == "owned-by-attacker":  # made by the attacker before root first ran sanitize
            os.mkdir(state, 0o755)
            os.chown(state, NOBODY, NOBODY)
        else:
            os.mkdir(state, 0o755)  # root's, not writable by others: acceptable (and tightened to 0700)
            if setup == "keys-world-writable":
                os.mkdir(keys)
                os.chmod(keys, 0o777)
            else:
                os.symlink(loot_dir, keys)  # e.g. restored from a backup; points into the attacker's directory
        plant_in = keys if setup in ("world-writable", "owned-by-attacker", "keys-world-writable") else loot_dir
        as_nobody([PYTHON, "-c", PLANT_TEMP_LINKS, plant_in, f"{loot_dir}/loot"])

        result = cli(state, "keys", "init", "--org", "Victim Corp")

        assert result.returncode == 4, result.stderr
        error = one_line_error(result)
        assert "unsafe state directory" in error and ("chmod 0700" in error or "remove it" in error)
        assert os.path.getsize(f"{loot_dir}/loot") == 0
        assert private_key_anywhere(base) == [], "the signing key must not exist anywhere the attacker can reach"


def test_a_parent_others_can_write_without_the_sticky_bit_is_refused() -> None:
    with public_tmp() as base:
        shared = os.path.join(base, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)  # anyone can rename the state directory away and put theirs in place
        result = cli(os.path.join(shared, "state"), "keys", "init", "--org", "Victim Corp")
        assert result.returncode == 4
        assert "writable by others" in one_line_error(result)
        assert not os.path.exists(os.path.join(shared, "state"))


def test_a_fresh_state_directory_is_private_and_the_key_0600(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    result = cli(state, "keys", "init", "--org", "Example Corp")
    assert result.returncode == 0, result.stderr
    for path, mode in ((state, 0o700), (f"{state}/keys", 0o700), (f"{state}/keys/signer.key", 0o600)):
        st = os.lstat(path)
        assert stat.S_IMODE(st.st_mode) == mode and st.st_uid == 0, path
    assert not [n for n in os.listdir(f"{state}/keys") if ".tmp." in n], "no temporary file is left behind"


# --- 2. only what the tool did gets certified -----------------------------------------------------


@pytest.fixture
def erased(lab: LoopLab, tmp_path: Path) -> tuple[str, dict, str]:
    """A state directory with keys and the engine's own verified result of a real erase."""
    state = str(tmp_path / "state")
    assert cli(state, "keys", "init", "--org", "Example Corp").returncode == 0
    dev = lab.loop("8M")
    erase = cli(state, "erase", dev, "--verify", "full", "--confirm", os.path.basename(dev), "--json")
    assert erase.returncode == 0, erase.stderr
    return state, json.loads(erase.stdout), dev


def test_a_hand_made_result_is_not_certified(erased: tuple[str, dict, str]) -> None:
    state, real, _ = erased
    with public_tmp() as base:
        forged_dir = attacker_dir(base)
        forged = dict(real)
        forged.update(
            id="0b7c1d2e-0000-4000-8000-000000000001",
            bytes_written=0,
            device={**real["device"], "size_bytes": 4_000_787_030_016, "serial": "WD-4TB-FORGED"},
        )
        path = f"{forged_dir}/result.json"
        nobody_python(f"open({path!r}, 'w').write({json.dumps(json.dumps(forged))})")
        result = cli(state, "cert", "issue", path, "--output-dir", f"{base}/out")
    assert result.returncode == 4
    assert "not a result recorded by the erase engine" in one_line_error(result)


def test_an_edited_failed_result_is_not_certified(lab: LoopLab, state_dir: str, tmp_path: Path) -> None:
    state = state_dir
    assert cli(state, "keys", "init", "--org", "Example Corp").returncode == 0
    dev = lab.loop("256M", preallocate=True)
    argv = ["erase", dev, "--passes", "3", "--pattern", "zeros", "--confirm", os.path.basename(dev), "--json"]
    # A checkpoint (and the signal) early in the pass. (An environment variable meant this once; the
    # hook left the product, and with the default 1 GiB cadence a 256 MiB pass journals its offset only
    # at its end, a window a fast erase closed before the poll saw it.)
    code, out = interrupt_during_write(argv, state, checkpoint_mib=32)
    assert code == 8
    failed = json.loads(out)
    assert failed["status"] == "interrupted"
    edited = dict(failed, status="verified", bytes_written=12, errors=[])
    edited["verification"] = {**failed["verification"], "outcome": "passed", "method": "full", "coverage": 1.0}
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))

    result = cli(state, "cert", "issue", str(path), "--output-dir", str(tmp_path / "out"))

    assert result.returncode == 4
    assert "differs from the erase engine's record" in one_line_error(result)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("certificate-*"))


def test_a_result_is_certified_once_and_the_second_issue_names_the_first(erased: tuple[str, dict, str]) -> None:
    state, real, _ = erased
    result_file = os.path.join(state, "results", f"{real['id']}.json")
    first = cli(state, "cert", "issue", result_file, "--json")
    assert first.returncode == 0, first.stderr
    issued = json.loads(first.stdout)

    again = cli(state, "cert", "issue", result_file, "--json")

    assert again.returncode == 4
    error = one_line_error(again)
    assert "already issued" in error and issued["certificate_id"] in error and issued["pdf"] in error
    assert len(Archive.of(StateDir(state)).entries()) == 1
    assert cli(state, "cert", "verify", issued["pdf"]).returncode == 0


def test_an_implausible_record_is_not_certified(erased: tuple[str, dict, str]) -> None:
    """Even a record with a valid tag (an engine bug, or root on this host) must describe
    work that could have happened: 12 bytes written by an overwrite of an 8 MiB device."""
    state, real, _ = erased
    bogus = dict(real, id="0b7c1d2e-0000-4000-8000-000000000002", bytes_written=12)
    path = record_result(StateDir(state), bogus)
    result = cli(state, "cert", "issue", path)
    assert result.returncode == 4
    assert "implausible" in one_line_error(result) and "wrote 12 bytes" in result.stderr


def test_a_resumed_result_gets_its_certificate_after_its_failure_report(tmp_path: Path) -> None:
    state = state_with_keys(str(tmp_path / "state"))
    interrupted = recorded(state, erase_result("erase_failed.json", status="interrupted"))
    first = cli(state.path, "cert", "issue", os.path.join(state.path, "results", f"{interrupted['id']}.json"))
    assert first.returncode == 7, first.stderr  # the failure report of the interrupted run
    resumed = recorded(state, erase_result(id=interrupted["id"]), fresh_id=False)  # same operation, finished
    second = cli(state.path, "cert", "issue", os.path.join(state.path, "results", f"{resumed['id']}.json"))
    assert second.returncode == 0, second.stderr


# --- 3. a scan cannot be hung or led out of the tree --------------------------------------------

RACER = """
import os, sys, time
shared, template, outside_db, outside_dir, seconds = sys.argv[1:6]
data = open(template, "rb").read()
names = [f"store{j}.db" for j in range(STORES)]
for name in names:  # what SQLite reopens for a deleted /proc/self/fd/N: "<path> (deleted)"
    os.mkfifo(os.path.join(shared, name + " (deleted)"))
end = time.time() + float(seconds)
i = 0
while time.time() < end:
    i += 1
    kind = (i // STORES) % 3
    tmp = os.path.join(shared, f".swap{i}")
    if kind == 0:
        with open(tmp, "wb") as fh:
            fh.write(data)
    elif kind == 1:
        os.mkfifo(tmp)
    else:
        os.symlink(outside_db, tmp)
    os.rename(tmp, os.path.join(shared, names[i % STORES]))
    if i % STORES == 0:  # a whole directory swapped for a symlink out of the tree, and back
        sub, away = os.path.join(shared, "sub"), os.path.join(shared, ".sub-away")
        if kind == 2 and not os.path.islink(sub):
            os.rename(sub, away)
            os.symlink(outside_dir, sub)
        elif kind != 2 and os.path.islink(sub):
            os.unlink(sub)
            os.rename(away, sub)
""".replace("STORES", "20")


def _embedding_db(path: str) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc TEXT, embedding BLOB)")
    vec = struct.pack("<384f", *([0.05] * 384))
    db.executemany("INSERT INTO chunks (doc, embedding) VALUES (?, ?)", [(f"chunk {i}", vec) for i in range(8)])
    db.commit()
    db.close()


def _open_webui_db(path: str) -> None:
    db = sqlite3.connect(path)
    for table in ("chat", "auth", "user"):
        db.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, data TEXT)")
    db.commit()
    db.close()


def _chroma_dir(path: str) -> None:
    os.makedirs(path)
    db = sqlite3.connect(os.path.join(path, "chroma.sqlite3"))
    for table in ("embeddings_queue", "collections", "segments", "embeddings"):
        db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()


def test_swaps_raced_against_scans_never_hang_them_or_open_anything_outside_the_tree() -> None:
    with public_tmp() as base:
        tree = os.path.join(base, "tree")
        shared = os.path.join(tree, "shared")
        outside = os.path.join(base, "outside")  # root's, and private: the attacker cannot read it
        os.makedirs(shared)
        os.chmod(tree, 0o755)
        os.mkdir(outside, 0o700)
        _open_webui_db(os.path.join(outside, "secret.db"))
        _chroma_dir(os.path.join(outside, "chroma"))
        template = os.path.join(base, "template.db")
        _embedding_db(template)
        os.chmod(template, 0o644)
        for n in range(20):
            _embedding_db(os.path.join(shared, f"store{n}.db"))
        os.makedirs(os.path.join(shared, "sub"))
        _chroma_dir(os.path.join(shared, "sub", "vectors"))
        for dirpath, dirs, files in os.walk(shared):
            for name in dirs + files:
                os.chown(os.path.join(dirpath, name), 65534, 65534)
        os.chown(shared, 65534, 65534)
        watched = [
            outside,
            os.path.join(outside, "secret.db"),
            os.path.join(outside, "chroma"),
            os.path.join(outside, "chroma", "chroma.sqlite3"),
        ]
        watch = OpenWatch(watched)
        racer = subprocess.Popen(
            nobody_argv([PYTHON, "-c", RACER, shared, template, watched[1], watched[2], "120"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        outputs, hung, durations = [], 0, []
        try:
            time.sleep(0.3)
            for _ in range(30):
                started = time.monotonic()
                try:
                    run = subprocess.run(
                        [sys.executable, "-m", "sanitize", "scan", "--json", tree],
                        capture_output=True,
                        text=True,
                        timeout=20,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    hung += 1
                    continue
                durations.append(time.monotonic() - started)
                assert run.returncode == 0, run.stderr
                outputs.append(run.stdout)
            assert racer.poll() is None, f"the racer stopped early: {racer.stderr and racer.stderr.read()}"
        finally:
            racer.kill()
            racer.wait()
        opened = watch.opened()
        watch.close()
        assert hung == 0, f"{hung} of 30 scans hung"
        assert opened == [], f"the scan opened files outside the tree: {sorted(set(opened))}"
        docs = [json.loads(out) for out in outputs]
        formats = {a["format"] for doc in docs for a in doc["artifacts"]}
        assert "open-webui" not in formats, "the database outside the tree was read"
        assert "sqlite-embeddings" in formats  # the real store is still found between swaps
        assert max(durations) < 30


# --- 4. rolling the archive back is detected -------------------------------------------------------


def _bundle(state: StateDir, path: str) -> None:
    result = cli(state.path, "archive", "export", "--output", path)
    assert result.returncode == 0, result.stderr


def test_rolling_the_archive_back_to_an_old_export_is_detected(tmp_path: Path) -> None:
    state = state_with_keys(str(tmp_path / "state"))
    live = Archive.of(state)
    issue(state, str(tmp_path / "out"))
    old = str(tmp_path / "old-export.zip")
    _bundle(state, old)
    issue(state, str(tmp_path / "out"))
    third = issue(state, str(tmp_path / "out"))
    assert third.archive_head is not None and third.archive_head["size"] == 3
    anchor = third.archive_head["anchor"]  # what `cert issue` printed: recorded in the ticket
    listed = json.loads(cli(state.path, "archive", "list", "--json").stdout)
    assert listed["head"]["anchor"] == anchor
    newest = str(tmp_path / "central-store.zip")
    _bundle(state, newest)
    witness = tmp_path / "witness.txt"
    witness.write_text(f"# heads recorded by the central store\n{anchor}\n")
    assert cli(state.path, "archive", "verify", "--expect-head", anchor, "--witness", old).returncode == 0

    # The rollback: the old export's log and signed head put back, the newer documents deleted.
    with zipfile.ZipFile(old) as bundle:
        for name in ("log.jsonl", "head.json", "head.json.sig"):
            Path(live.p(name)).write_bytes(bundle.read(name))
        kept = {n for n in bundle.namelist() if n.startswith("docs/")}
    for name in os.listdir(live.p("docs")):
        if f"docs/{name}" not in kept:
            os.unlink(live.p("docs", name))

    plain = cli(state.path, "archive", "verify")
    assert plain.returncode == 0, "on its own, a consistent older state cannot be told from the current one"
    for args in (["--expect-head", anchor], ["--witness", str(witness)], ["--witness", newest]):
        result = cli(state.path, "archive", "verify", *args)
        assert result.returncode == 9, args
        assert "rolled back" in one_line_error(result), args


def test_a_rewritten_history_of_the_same_length_is_detected(tmp_path: Path) -> None:
    state = state_with_keys(str(tmp_path / "state"))
    for _ in range(2):
        issued = issue(state, str(tmp_path / "out"))
    anchor = issued.archive_head["anchor"] if issued.archive_head else ""
    # Someone holding the key rebuilds the archive with two other documents.
    live = Archive.of(state)
    for name in ("log.jsonl", "head.json", "head.json.sig"):
        os.unlink(live.p(name))
    for name in os.listdir(live.p("docs")):
        os.unlink(live.p("docs", name))
    signer = load_signer(state)
    for n in range(2):
        live.append(
            signer, kind="certificate", certificate_id=f"forged-{n}", issued_at=None,
            json_bytes=b"{}", signature=b"", pdf_bytes=None,
        )  # fmt: skip
    result = cli(state.path, "archive", "verify", "--expect-head", anchor)
    assert result.returncode == 9
    assert "history rewritten" in result.stderr


def test_an_export_is_checked_as_a_prefix_of_the_live_archive(tmp_path: Path) -> None:
    state = state_with_keys(str(tmp_path / "state"))
    issue(state, str(tmp_path / "out"))
    mine = str(tmp_path / "mine.zip")
    _bundle(state, mine)
    other = state_with_keys(str(tmp_path / "other"))
    issue(other, str(tmp_path / "other-out"))
    foreign = str(tmp_path / "foreign.zip")
    _bundle(other, foreign)
    issue(state, str(tmp_path / "out"))
    assert cli(state.path, "archive", "verify", "--witness", mine).returncode == 0
    result = cli(state.path, "archive", "verify", "--witness", foreign)
    assert result.returncode == 9  # not signed by this archive's signer: not a witness of it
    assert "not signed by the trusted signer" in one_line_error(result)


# --- 5. output paths are checked before anything is written ------------------------------------------


@pytest.mark.parametrize("where", ["symlink", "missing-directory"])
def test_erase_output_is_refused_before_the_device_is_touched(lab: LoopLab, tmp_path: Path, where: str) -> None:
    state = str(tmp_path / "state")
    dev = lab.loop("8M")
    before = device_sha256(dev)
    with public_tmp() as base:
        victim = os.path.join(base, "root-only.conf")
        Path(victim).write_text("root's own file\n")
        os.chmod(victim, 0o600)
        if where == "symlink":
            drop = attacker_dir(base)
            output = f"{drop}/result.json"
            as_nobody(["ln", "-s", victim, output])
        else:
            output = f"{base}/no-such-dir/result.json"

        result = cli(state, "erase", dev, "--confirm", os.path.basename(dev), "--output", output)

        assert result.returncode == 3
        error = one_line_error(result)
        assert ("symbolic link" in error) if where == "symlink" else ("does not exist" in error)
        assert device_sha256(dev) == before, "the device must not be erased when the output cannot be written"
        assert Path(victim).read_text() == "root's own file\n" and stat.S_IMODE(os.stat(victim).st_mode) == 0o600


def test_erase_output_is_written_privately(lab: LoopLab, tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    dev = lab.loop("8M")
    output = tmp_path / "result.json"
    result = cli(state, "erase", dev, "--confirm", os.path.basename(dev), "--verify", "full", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert json.loads(output.read_text())["status"] == "verified"


def test_other_output_options_refuse_symlinks(tmp_path: Path) -> None:
    state = state_with_keys(str(tmp_path / "state"))
    issue(state, str(tmp_path / "out"))
    result_file = recorded(state, erase_result())
    with public_tmp() as base:
        drop = attacker_dir(base)
        victim = os.path.join(base, "victim")
        os.mkdir(victim, 0o700)
        as_nobody(["ln", "-s", victim, f"{drop}/certs"])
        as_nobody(["ln", "-s", f"{victim}/bundle.zip", f"{drop}/bundle.zip"])
        path = os.path.join(state.path, "results", f"{result_file['id']}.json")
        issued = cli(state.path, "cert", "issue", path, "--output-dir", f"{drop}/certs")
        exported = cli(state.path, "archive", "export", "--output", f"{drop}/bundle.zip")
        assert issued.returncode == 3 and "symbolic link" in one_line_error(issued)
        assert exported.returncode == 3 and "symbolic link" in one_line_error(exported)
        assert os.listdir(victim) == []


# --- 6. the smaller ones ------------------------------------------------------------------------------

GGUF = b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + bytes(64)


def test_two_names_that_escape_alike_keep_distinct_json_paths(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    for raw in (b"\xff\xfe.gguf", b"\\xff\\xfe.gguf"):
        Path(os.path.join(root, raw).decode("utf-8", "surrogateescape")).write_bytes(GGUF)
    out = subprocess.run(
        [sys.executable, "-m", "sanitize", "scan", "--json", str(tmp_path)], capture_output=True, check=True
    )
    doc = json.loads(out.stdout.decode("utf-8"))
    paths = [a["path"] for a in doc["artifacts"]]
    assert len(paths) == 2 and len(set(paths)) == 2
    raw_names = {base64.b64decode(a["path_b64"]) for a in doc["artifacts"]}
    assert raw_names == {b"\xff\xfe.gguf", b"\\xff\\xfe.gguf"}


def _catches_sigterm(pid: int) -> bool:
    """Whether sanitize's own handlers are in place: Python alone does not catch SIGTERM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _long_scan_tree(directory: Path) -> Path:
    """A tree whose scan lasts seconds on any machine (a pristine Debian's /usr is scanned in
    under one): `scan --hash` reads the whole of a sparse 4 GiB safetensors file."""
    directory.mkdir()
    size, header_len = 4 * 2**30, 200
    count = size - 8 - header_len
    header = json.dumps({"weight": {"dtype": "U8", "shape": [count], "data_offsets": [0, count]}}).encode()
    with open(directory / "model.safetensors", "wb") as out:
        out.write(struct.pack("<Q", header_len) + header.ljust(header_len))
        out.truncate(size)
    return directory


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_moment_gives_its_exit_code_and_no_traceback(sig: int, tmp_path: Path) -> None:
    """From the first line of sanitize's code on (the interpreter's own start-up is Python's):
    while modules load, then during the scan."""
    expected = 128 + sig
    tree = _long_scan_tree(tmp_path / "tree")
    for delay in (0.0, 0.05, 0.15, 0.4, 1.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "sanitize", "scan", "--hash", str(tree)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not _catches_sigterm(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(delay)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == expected, (delay, err[-2000:])
        assert "Traceback" not in err, (delay, err)
        assert err.strip().splitlines()[-1] == f"sanitize: stopped by {signal.Signals(sig).name}", err
