"""What the operator asked of an erase: common options and each method family's own, all typed.

`EraseOptions.to_dict()` is the `options` object of `sanitize.plan/1` and of the resume
journal; method options appear there under `extra`, as they always have, and a PSID never
does (it reads `<redacted>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sanitize.errors import BadInput

PATTERNS_HELP = "random, zeros, ones or 0xNN"
VERIFY_MODES = ("full", "sample", "none")
CARVE_CHECKS = {"sample": 0.01, "full": 1.0, "none": 0.0}  # fraction of the device carved after erase
SECRET = "<redacted>"


def parse_pattern(pattern: str) -> int | None:
    """The fill byte of a fixed pattern, or None for `random`."""
    named = {"zeros": 0x00, "ones": 0xFF}
    if pattern == "random":
        return None
    if pattern in named:
        return named[pattern]
    if pattern.lower().startswith("0x") and len(pattern) == 4:
        try:
            return int(pattern, 16)
        except ValueError:
            pass
    raise BadInput(f"unknown pattern {pattern!r} (use {PATTERNS_HELP})")


@dataclass(frozen=True)
class LuksOptions:
    """luks-crypto-erase: a detached header to destroy too, and a method to run afterwards."""

    header: str | None = None
    then: str | None = None  # a device-level method; the plan chains it (Plan.then)


@dataclass(frozen=True)
class FirmwareOptions:
    """Firmware methods: how long to wait for the drive, and a TCG drive's PSID."""

    timeout: float | None = None  # seconds; None: the method's default for the operation
    psid: str | None = field(default=None, repr=False)  # never serialised, logged or recorded


@dataclass(frozen=True)
class EraseOptions:
    pattern: str = "random"
    passes: int = 1
    verify: str = "sample"
    verify_coverage: float = 0.10
    discard: bool = False
    carve_check: str = "sample"  # after a passed verification, look for anything recognisable left
    sample_seed: int | None = None  # where a sample verification reads (tests fix it); None: random
    luks: LuksOptions = LuksOptions()
    firmware: FirmwareOptions = FirmwareOptions()

    def __post_init__(self) -> None:
        parse_pattern(self.pattern)
        if self.passes < 1:
            raise BadInput(f"--passes must be at least 1, not {self.passes}")
        if self.verify not in VERIFY_MODES:
            raise BadInput(f"--verify must be one of {', '.join(VERIFY_MODES)}, not {self.verify!r}")
        if self.carve_check not in CARVE_CHECKS:
            raise BadInput(f"--carve-check must be one of {', '.join(CARVE_CHECKS)}, not {self.carve_check!r}")
        if not 0 < self.verify_coverage <= 1:
            raise BadInput(f"--verify-coverage must be in (0, 1], not {self.verify_coverage}")

    def extra(self) -> dict[str, Any]:
        """The method options that are set, by their historical names (PSID redacted)."""
        named: dict[str, Any] = {
            "then": self.luks.then,
            "header": self.luks.header,
            "psid": SECRET if self.firmware.psid else None,
            "timeout": self.firmware.timeout,
            "sample_seed": self.sample_seed,
        }
        return {k: v for k, v in named.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        extra = self.extra()
        return {
            "pattern": self.pattern,
            "passes": self.passes,
            "verify": self.verify,
            "verify_coverage": self.verify_coverage,
            "discard": self.discard,
            "carve_check": self.carve_check,
            **({"extra": extra} if extra else {}),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> EraseOptions:
        """Options as `to_dict` wrote them (a resume journal); a redacted PSID is not restored."""
        extra = dict(doc.get("extra") or {})
        common = {
            k: doc[k] for k in ("pattern", "passes", "verify", "verify_coverage", "discard", "carve_check") if k in doc
        }
        timeout = extra.get("timeout")
        seed = extra.get("sample_seed")
        return cls(
            **common,
            sample_seed=int(seed) if seed is not None else None,
            luks=LuksOptions(header=extra.get("header"), then=extra.get("then")),
            firmware=FirmwareOptions(timeout=float(timeout) if timeout is not None else None),
        )
