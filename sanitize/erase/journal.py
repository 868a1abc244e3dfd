"""The resume journal: where an overwrite stands, so a crash or kill -9 costs little.

One JSON file per running operation in `<state>/journal/<id>.json` (0600, in the 0700
state directory), rewritten atomically and fsync'd at every checkpoint, after the device
itself was fsync'd, so the recorded offset is never ahead of what is on the media.

Trade-off, on purpose: a random pass can only be resumed (and verified) with the same
AES key, so the current pass's key (and its cipher) is stored here while the operation runs and
deleted with the journal when it ends (verified or failed). The key protects nothing
secret -- it only makes the pattern reproducible -- but while it exists, someone with
root could predict the pattern; this is why it lives only in the state directory and
only until the operation completes.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from typing import Any

from sanitize.errors import BadInput, Refused
from sanitize.inventory.model import Device
from sanitize.state import StateDir, write_private

JOURNAL_SCHEMA = "sanitize.journal/1"
JOURNAL_DIR = "journal"

# Fields that must be unchanged for a journal to be applied to a device.
IDENTITY_FIELDS = ("serial", "wwn", "size_bytes", "logical_sector_size", "devno", "backing_file")


def identity_of(device: Device) -> dict[str, Any]:
    return {name: getattr(device, name) for name in IDENTITY_FIELDS}


def _journal_device(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return str(json.load(fh).get("device_path"))
    except (OSError, ValueError):
        return None


def _strong(identity: dict[str, Any]) -> bool:
    return any(identity[k] for k in ("serial", "wwn", "backing_file"))


def _same_identity(recorded: dict[str, Any], device: Device) -> bool:
    current = identity_of(device)
    if not _strong(current):
        return False
    return all(recorded.get(k) == current[k] for k in IDENTITY_FIELDS if k != "devno")


@dataclass
class Journal:
    path: str
    data: dict[str, Any]

    @classmethod
    def create(cls, state: StateDir, operation_id: str, device: Device, data: dict[str, Any]) -> Journal:
        path = state.file(JOURNAL_DIR, f"{operation_id}.json")
        doc = {
            "schema": JOURNAL_SCHEMA,
            "id": operation_id,
            "device_path": device.path,
            "identity": identity_of(device),
            **data,
        }
        journal = cls(path, doc)
        journal.save()
        # A fresh run on a device supersedes any interrupted one (and its key).
        for name in os.listdir(os.path.dirname(path)):
            other = os.path.join(os.path.dirname(path), name)
            if other != path and name.endswith(".json") and _journal_device(other) == device.path:
                os.unlink(other)
        return journal

    @classmethod
    def find(cls, state: StateDir, device: Device) -> Journal:
        """The unfinished operation on `device`; refuse one recorded for another device."""
        directory = os.path.join(state.path, JOURNAL_DIR)
        names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
        candidates: list[Journal] = []
        for name in names:
            if not name.endswith(".json"):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as fh:
                    doc = json.load(fh)
            except (OSError, ValueError):
                continue
            if doc.get("schema") != JOURNAL_SCHEMA:
                continue
            # Same path, or (after a reboot renamed it) the same serial, WWN or loop backing file.
            if doc.get("device_path") == device.path or _same_identity(doc.get("identity", {}), device):
                candidates.append(cls(path, doc))
        if not candidates:
            raise BadInput(f"{device.path}: no interrupted erase to resume in {directory}")
        journal = max(candidates, key=lambda j: os.stat(j.path).st_mtime)
        recorded, current = journal.data.get("identity", {}), identity_of(device)
        # devno changes across reboots; it only identifies devices that have nothing better.
        fields = [k for k in IDENTITY_FIELDS if k != "devno" or not _strong(current)]
        changed = [k for k in fields if recorded.get(k) != current[k]]
        if changed:
            raise Refused(
                f"{device.path}: the interrupted erase was of a different device "
                f"({', '.join(f'{k} was {recorded.get(k)!r}, now {current[k]!r}' for k in changed)})"
            )
        return journal

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.save()

    def save(self) -> None:
        write_private(self.path, json.dumps(self.data, indent=1).encode())

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
