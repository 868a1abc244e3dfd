"""Read the erase journal of a state directory while an erase runs (tests poll it to interrupt)."""

from __future__ import annotations

import json
import os


def journal_in(state_dir: str) -> dict | None:
    """The one journal in STATE/journal, or None (none yet, or caught mid-rename: poll again)."""
    directory = os.path.join(state_dir, "journal")
    for entry in os.listdir(directory) if os.path.isdir(directory) else []:
        if entry.endswith(".json"):
            try:
                with open(os.path.join(directory, entry)) as fh:
                    return json.load(fh)
            except (OSError, ValueError):
                return None
    return None
