"""The dependency floors in pyproject.toml, constraints/lowest.txt (what CI installs to test
them) and constraints/tested.txt (what the README installs) agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            package, version = line.split("==")
            pins[package.lower().replace("_", "-")] = version
    return pins


def _floors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for spec in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", spec)
        assert match, f"{spec}: give every dependency a floor (>=) and an upper bound only with a reason"
        floors[match[1].lower()] = match[2]
    return floors


def _version(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    while parts and parts[-1] == 0:  # 0.24 == 0.24.0
        parts.pop()
    return tuple(parts)


def test_lowest_pins_every_runtime_floor_exactly() -> None:
    floors, lowest = _floors(), _pins("lowest.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        name = spec.split(">=")[0].lower()
        assert _version(lowest[name]) == _version(floors[name]), name
    for name, version in lowest.items():
        assert _version(version) == _version(floors[name]), name


def test_tested_set_satisfies_the_floors() -> None:
    tested = _pins("tested.txt")
    for name, floor in _floors().items():
        assert name in tested, f"{name} missing from constraints/tested.txt (bash .ci/refresh-constraints)"
        assert _version(tested[name].split("+")[0].split("post")[0].rstrip(".")) >= _version(floor), name
