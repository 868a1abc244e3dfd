"""Every package directory is a regular package, so the wheel (not only an editable install) has it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "sanitize"


def test_every_package_directory_has_an_init() -> None:
    dirs = [p for p in ROOT.rglob("*") if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))]
    assert [str(d.relative_to(ROOT)) for d in dirs if not (d / "__init__.py").exists()] == []
