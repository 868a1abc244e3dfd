"""Docs and scripts speak to users: no path of a development machine, sources cited by public name."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Checkouts and homes of the machines this was developed on; a user has none of them.
DEV_PATHS = re.compile(r"/work/|/home/\w+|/root/\.pyenv|/opt/pypi|/tmp/pytest-of-")


def user_facing() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "docs" / "sanitize.1"]
    files += sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "contrib").rglob("*.md"))
    return [f for f in files if f.is_file()]


def test_no_development_machine_paths() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in user_facing()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DEV_PATHS.search(line)
    ]
    assert not found, "\n".join(found)


def test_methods_cite_rev_2_and_ieee_2883() -> None:
    text = (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    assert "NIST SP 800-88 Rev. 2" in text and "IEEE 2883-2022" in text
    assert "standards-and-peers" not in text  # an internal note, not a source a reader can open
