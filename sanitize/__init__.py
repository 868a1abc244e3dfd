"""sanitize: inventory, AI-artifact discovery and NIST SP 800-88 sanitization of servers."""

from __future__ import annotations

import functools
import json
import os
import re
import sys

__version__ = "0.1.0"
TOOL_NAME = "sanitize"
# Written into the venv by `sanitize image build` (docs/live-image.md): present only in the live image.
IMAGE_IDENTITY_FILE = "sanitize-image.json"


@functools.cache
def image_identity() -> str | None:
    """The live image's id when running from one (SHA-256 of everything it was built from)."""
    try:
        with open(os.path.join(sys.prefix, IMAGE_IDENTITY_FILE), encoding="utf-8") as fh:
            value = json.load(fh).get("image_id")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else None


def tool_identity() -> dict[str, str]:
    """The `tool` field of every document the tool writes; `image` only from the live image."""
    identity = {"name": TOOL_NAME, "version": __version__}
    image = image_identity()
    if image is not None:
        identity["image"] = image
    return identity


__all__ = ["IMAGE_IDENTITY_FILE", "TOOL_NAME", "__version__", "image_identity", "tool_identity"]
