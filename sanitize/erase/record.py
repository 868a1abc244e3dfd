"""The erase engine's records of its results: the only results `cert issue` certifies.

A result document is plain JSON that anyone can write, so a certificate cannot rest on the
document alone. When the engine finishes a device it records the result in the state
directory (root only, 0700):

    results/<id>.json     the `sanitize.erase/1` document (the same as `--output` and `--json`)
    results/<id>.record   `sanitize.result-record/1`: the document's SHA-256, the operation id
                          (the id of its resume journal), the device's identity (serial, WWN,
                          size, path) and when it was recorded, with an HMAC-SHA256 tag keyed by
                          keys/record.key (32 random bytes, 0600, created with the first record)
    results/<id>.issued   written by `cert issue`: the one document issued for this result

`check_recorded` accepts a result only when its record exists, its tag verifies and its
digest is the digest of the result handed in: a hand-made result, a copy edited after the
erase or a record moved to another result are all refused. The key never leaves the state
directory, so only this installation's engine (or root on this host, see
docs/threat-model.md) can make a record. A result resumed with `--resume` keeps its id and is
recorded again with its new content, which can then be issued once more.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

from sanitize.errors import BadInput, Refused
from sanitize.state import StateDir, create_private_once, read_private, write_private

RECORD_SCHEMA = "sanitize.result-record/1"
RESULTS_DIR = "results"
KEY_FILE = "record.key"
_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
# The device fields a record binds (beyond the digest, which covers the whole document),
# so a record names the device it belongs to even without the document.
BOUND_DEVICE_FIELDS = ("path", "serial", "wwn", "size_bytes", "model", "backing_file")


def result_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the document in one fixed form (sorted keys, ASCII), as it round-trips through JSON."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")).hexdigest()


def _tag(key: bytes, record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "tag"}
    return hmac.new(key, json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii"), "sha256").hexdigest()


def _key(state: StateDir, *, create: bool) -> bytes | None:
    path = state.file("keys", KEY_FILE) if create else state.existing("keys", KEY_FILE)
    if create:
        create_private_once(path, secrets.token_bytes(32))
    try:
        key = read_private(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the record key ({exc.strerror})") from None
    return key if len(key) == 32 else None


def _result_id(document: dict[str, Any]) -> str:
    rid = document.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise BadInput(f"result id {rid!r} is not a result id of this tool")
    return rid


def record_result(state: StateDir, document: dict[str, Any]) -> str:
    """Write the result and its tagged record; returns the result file's path."""
    rid = _result_id(document)
    key = _key(state, create=True)
    assert key is not None
    path = state.file(RESULTS_DIR, f"{rid}.json")
    write_private(path, json.dumps(document, indent=2).encode())
    found = document.get("device")
    device: dict[str, Any] = found if isinstance(found, dict) else {}
    record: dict[str, Any] = {
        "schema": RECORD_SCHEMA,
        "result_id": rid,
        "operation_id": rid,  # the resume journal is kept under the same id while the erase runs
        "result_sha256": result_digest(document),
        "status": document.get("status"),
        "device": {name: device.get(name) for name in BOUND_DEVICE_FIELDS},
        "recorded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    record["tag"] = _tag(key, record)
    write_private(state.file(RESULTS_DIR, f"{rid}.record"), (json.dumps(record, indent=1) + "\n").encode())
    return path


def check_recorded(state: StateDir, document: dict[str, Any]) -> dict[str, Any]:
    """The engine's record of `document`; Refused (one line) when there is none that matches."""
    rid = _result_id(document)
    where = os.path.join(state.path, RESULTS_DIR)
    hint = "certificates are issued only for results the erase engine of this installation recorded"
    path = state.existing(RESULTS_DIR, f"{rid}.record")
    try:
        raw = read_private(path)
    except FileNotFoundError:
        raise Refused(f"result {rid} is not a result recorded by the erase engine in {where}", hint=hint) from None
    except OSError as exc:
        raise Refused(f"result {rid}: its record cannot be read ({exc.strerror})", hint=hint) from None
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    key = _key(state, create=False)
    if (
        not isinstance(record, dict)
        or record.get("schema") != RECORD_SCHEMA
        or key is None
        or not isinstance(record.get("tag"), str)
        or not hmac.compare_digest(record["tag"], _tag(key, record))
    ):
        raise Refused(f"result {rid}: its record in {where} does not verify (altered or not made here)", hint=hint)
    if record.get("result_id") != rid:
        raise Refused(f"result {rid}: its record belongs to result {record.get('result_id')}", hint=hint)
    if record.get("result_sha256") != result_digest(document):
        raise Refused(
            f"result {rid} differs from the erase engine's record of it (edited after the erase?)",
            hint=f"issue the recorded result itself: {os.path.join(where, rid + '.json')}",
        )
    return record


# --- one document per result -----------------------------------------------------------


@contextlib.contextmanager
def issuing(state: StateDir) -> Iterator[None]:
    """Serialise issuing, so two concurrent `cert issue` of one result cannot both pass the check."""
    fd = os.open(state.file(RESULTS_DIR, ".issue.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def issued_for(state: StateDir, document: dict[str, Any]) -> dict[str, Any] | None:
    """What was already issued for this very result (same id and content), or None."""
    path = state.existing(RESULTS_DIR, f"{_result_id(document)}.issued")
    try:
        issued = json.loads(read_private(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"certificate_id": None, "note": f"{path} is unreadable"}
    if not isinstance(issued, dict) or issued.get("result_sha256") != result_digest(document):
        return None  # issued for an earlier state of a resumed result
    return issued


def mark_issued(state: StateDir, document: dict[str, Any], issued: dict[str, Any]) -> None:
    marker = {"result_sha256": result_digest(document), **issued}
    path = state.file(RESULTS_DIR, f"{_result_id(document)}.issued")
    write_private(path, (json.dumps(marker, indent=1) + "\n").encode())
