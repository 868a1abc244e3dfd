"""Where an overwrite stands, and what its resume journal records about it.

The journal (sanitize.erase.journal) is rewritten at every checkpoint with the cursor: the
phase, the pass, the offset flushed to the device, the pass's pattern key and its cipher, the
bytes written and the unwritable ranges. A journal that names no cipher was written before it
was recorded: its key is for AES-256-CTR, the pattern of those releases. A resumed run starts
from the cursor it restores here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sanitize.enums import PhaseStatus
from sanitize.erase.buffers import LEGACY_CIPHER
from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext
from sanitize.erase.plan import Plan, resume_command
from sanitize.erase.result import EraseResult, ErrorRange, merge_ranges


@dataclass
class Cursor:
    """Where the operation stands; mirrored in the journal at checkpoints."""

    phase: str  # write | verify
    pass_no: int
    offset: int  # what the journal records: flushed to the device
    key: bytes | None
    done: int = 0  # written in this pass, maybe not flushed yet
    cipher: str | None = None  # the random pattern's keystream cipher (with `key`)


def journalled_cipher(data: Mapping[str, Any]) -> str | None:
    """The cipher of the key a journal holds (None: no key, a non-random pattern)."""
    return str(data.get("cipher") or LEGACY_CIPHER) if data.get("key") else None


def journal_fields(plan: Plan, result: EraseResult, cursor: Cursor) -> dict[str, object]:
    return {
        "started_at": result.started_at,
        "method": plan.after or plan.method,  # a chained run resumes as the chain it was
        "options": plan.options.to_dict(),
        "phase": cursor.phase,
        "pass": cursor.pass_no,
        "offset": cursor.offset,
        "key": cursor.key.hex() if cursor.key else None,
        "cipher": cursor.cipher if cursor.key else None,
        "bytes_written": result.bytes_written,
        "errors": [e.to_dict() for e in merge_ranges(result.errors)],
        "notes": list(result.notes),
    }


def restore(journal: Journal, result: EraseResult) -> Cursor:
    """The cursor an interrupted run left in `journal`, and the result it had so far."""
    data = journal.data
    result.id = data["id"]
    result.started_at = data.get("started_at", result.started_at)
    result.bytes_written = int(data.get("bytes_written", 0))
    result.errors = [ErrorRange(e["offset"], e["length"], e["error"]) for e in data.get("errors", [])]
    for note in data.get("notes", []):
        result.add_note(note)
    if data.get("ended_with"):
        how = f"failed ({data['ended_with']})"
    elif data.get("stopped_cleanly"):
        how = "was stopped (signal)"
    else:
        how = "ended without finishing (crash, kill -9 or power loss)"
    key = bytes.fromhex(data["key"]) if data.get("key") else None
    cursor = Cursor(
        data["phase"],
        int(data["pass"]),
        int(data["offset"]),
        key,
        cipher=journalled_cipher(data),
    )
    where = (
        f"pass {cursor.pass_no} at offset {cursor.offset}"
        if cursor.phase == "write"
        else "before verification completed"
    )
    result.add_note(
        f"resumed: the run started {result.started_at} {how} in {where}; this run continued it at "
        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} from the journal without rewriting "
        "what had been written"
    )
    if cursor.phase == "write":
        result.mark("write", PhaseStatus.RUNNING, f"resumed at pass {cursor.pass_no}, offset {cursor.offset} (journal)")
    else:
        result.mark(
            "write", PhaseStatus.DONE, f"all passes written before the resumed run (journal: phase {cursor.phase})"
        )
    journal.update(stopped_cleanly=False, ended_with=None)
    return cursor


def written_detail(plan: Plan, cursor: Cursor) -> str:
    return (
        f"pass {cursor.pass_no}/{plan.options.passes}: bytes 0-{cursor.offset} of {plan.device.size_bytes} "
        "written and flushed (journal)"
    )


def note_stop(plan: Plan, ctx: ExecutionContext, cursor: Cursor) -> None:
    ctx.result.add_note(
        f"interrupted during pass {cursor.pass_no}/{plan.options.passes} at offset {cursor.offset} of "
        f"{plan.device.size_bytes}; continue with: {resume_command(plan, ctx.state.path)}"
    )
