"""Operator and site details printed on certificates, from a TOML file or flags.

Looked up in `<state>/config.toml`, then `/etc/sanitize/config.toml` (first found wins):

    [operator]          # the person performing the sanitization (NIST SP 800-88 App. G)
    name = "Jane Doe"
    title = "Data Center Technician"
    organization = "Example Corp"
    location = "DC1, Frankfurt"
    contact = "+49 69 0000 / jane@example.com"

    [validator]         # optional; left blank on the certificate for a second person to fill in
    name = "..."

    [certificate]
    post_sanitization_destination = "Reuse"
    pre_sanitization_confidentiality = "Confidential"

    [property_numbers]  # organisation property/asset numbers, keyed by the device's serial,
    "S4EVNF0M123456" = "ASSET-00417"     # WWN, /dev/disk/by-id or by-path name, path or kernel name
    "/dev/disk/by-path/pci-0000:00:17.0-ata-2" = "ASSET-00418"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from sanitize.errors import BadInput
from sanitize.inputs import read_text_input
from sanitize.state import StateDir

SYSTEM_CONFIG = "/etc/sanitize/config.toml"


@dataclass(frozen=True)
class Person:
    name: str | None = None
    title: str | None = None
    organization: str | None = None
    location: str | None = None
    contact: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)

    def merged(self, **overrides: str | None) -> Person:
        return replace(self, **{k: v for k, v in overrides.items() if v})


@dataclass(frozen=True)
class CertConfig:
    operator: Person = field(default_factory=Person)
    validator: Person = field(default_factory=Person)
    post_sanitization_destination: str | None = None
    pre_sanitization_confidentiality: str | None = None
    property_numbers: dict[str, str] = field(default_factory=dict)
    # `cert issue --property-number`: the number of the one device being certified, whatever names it
    property_number: str | None = None

    def property_number_for(self, device: Mapping[str, Any], links: list[str] | None = None) -> str | None:
        """The asset number attached to this device: given for it, else found by any of its names."""
        if self.property_number:
            return self.property_number
        keys = [device.get("serial"), device.get("wwn"), *(links or device.get("links") or [])]
        keys += [device.get("path"), device.get("name")]
        for key in keys:
            if key and str(key) in self.property_numbers:
                return self.property_numbers[str(key)]
        wwn = str(device.get("wwn") or "").lower()
        for key, number in self.property_numbers.items():
            if wwn and key.lower().removeprefix("0x") == wwn.removeprefix("0x"):
                return number
        return None


def _person(table: Any, source: str, section: str) -> Person:
    if table is None:
        return Person()
    if not isinstance(table, dict):
        raise BadInput(f"{source}: [{section}] must be a table")
    known = {f.name for f in fields(Person)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise BadInput(
            f"{source}: [{section}] has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return Person(**{k: str(v) for k, v in table.items()})


def parse_config(text: str, source: str) -> CertConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{source}: not valid TOML ({exc})") from None
    cert = data.get("certificate", {})
    props = data.get("property_numbers", {})
    if not isinstance(cert, dict) or not isinstance(props, dict):
        raise BadInput(f"{source}: [certificate] and [property_numbers] must be tables")
    return CertConfig(
        operator=_person(data.get("operator"), source, "operator"),
        validator=_person(data.get("validator"), source, "validator"),
        post_sanitization_destination=_opt_str(cert.get("post_sanitization_destination")),
        pre_sanitization_confidentiality=_opt_str(cert.get("pre_sanitization_confidentiality")),
        property_numbers={str(k): str(v) for k, v in props.items()},
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def config_paths(state: StateDir) -> list[str]:
    return [os.path.join(state.path, "config.toml"), SYSTEM_CONFIG]


def load_config(state: StateDir, explicit: str | None = None) -> CertConfig:
    paths = [explicit] if explicit else config_paths(state)
    for path in paths:
        if not explicit and not os.path.exists(path):
            continue
        return parse_config(read_text_input(path, "config file"), path)
    return CertConfig()
