"""sanitize's own files: its source checkout (with the test fixtures) and its virtualenv.

Run from a git checkout, as the README's install does, the scan finds the tool's own test
fixtures: small but real GGUF, safetensors, Chroma, FAISS... files and a fake Hugging Face
token. They are AI artifacts by content, but they are not the server's data: the inventory
counts them apart ("sanitize's own files") instead of mixing them into a volume's findings.
They are still on the disk, and a sanitization of that disk erases them like everything else.
"""

from __future__ import annotations

import functools
import os
import sys

import sanitize

PACKAGE_DIR = os.path.dirname(os.path.abspath(sanitize.__file__))


@functools.cache
def own_trees() -> tuple[str, ...]:
    """Real paths of the package, of its checkout (when it is one) and of its virtualenv."""
    trees = [PACKAGE_DIR]
    checkout = os.path.dirname(PACKAGE_DIR)
    if os.path.isfile(os.path.join(checkout, "pyproject.toml")) and os.path.isdir(os.path.join(checkout, "fixtures")):
        trees.append(checkout)
    if sys.prefix != sys.base_prefix:  # a virtualenv: its files came with the tool; /usr did not
        trees.append(sys.prefix)
    real = {os.path.realpath(t) for t in trees}
    # A tree inside another one adds nothing (the package inside its checkout).
    return tuple(sorted(t for t in real if not any(t != o and t.startswith(o + os.sep) for o in real)))


def own_tree_of(path: str, trees: tuple[str, ...] | None = None) -> str | None:
    """The own tree `path` lies in, or None for the server's files."""
    for tree in own_trees() if trees is None else trees:
        if path == tree or path.startswith(tree + os.sep):
            return tree
    return None
