"""Helpers for the certificate tests: a state dir with keys, fixture results, a CLI runner."""

from __future__ import annotations

import copy
import json
import os
import uuid
from typing import Any

from click.testing import Result

from sanitize.certify import keys
from sanitize.certify.config import CertConfig, Person
from sanitize.certify.issue import IssuedDocument, issue_for_result
from sanitize.erase.record import record_result
from sanitize.state import StateDir
from tests.support.clirunner import cli_runner

DATA = os.path.join(os.path.dirname(__file__), "..", "unit", "data")
OPERATOR = Person(
    name="Jane Doe", title="Data Center Technician", organization="Example Corp", location="DC1", contact="+49 69 0"
)
ARTIFACTS = {"model-weights": {"count": 12, "bytes": 140_000_000_000}, "datasets": {"count": 3, "bytes": 5_000_000}}


def erase_result(name: str = "erase_verified.json", **changes: Any) -> dict[str, Any]:
    with open(os.path.join(DATA, name), encoding="utf-8") as fh:
        result = json.load(fh)
    result = copy.deepcopy(result)
    result.update(changes)
    return result


def recorded(state: StateDir, result: dict[str, Any], *, fresh_id: bool = True) -> dict[str, Any]:
    """`result` as the erase engine records it in `state` (a new id unless asked otherwise), which
    is what `cert issue` requires; the tests stand in for the engine here."""
    if fresh_id:
        result = {**result, "id": str(uuid.uuid4())}
    record_result(state, result)
    return result


def recorded_file(state: StateDir, name: str = "erase_verified.json", **changes: Any) -> str:
    """Path of a recorded copy of a fixture result (in the state directory's results/)."""
    result = recorded(state, erase_result(name, **changes))
    return os.path.join(state.path, "results", f"{result['id']}.json")


def state_with_keys(path: str, org: str = "Example Corp") -> StateDir:
    state = StateDir(path)
    keys.init_keys(state, org)
    return state


def issue(state: StateDir, outdir: str, name: str = "erase_verified.json", **changes: Any) -> IssuedDocument:
    return issue_for_result(
        recorded(state, erase_result(name, **changes)),
        state=state,
        operator=OPERATOR,
        artifacts_before=ARTIFACTS,
        output_dir=outdir,
        config=CertConfig(property_numbers={"S64HNE0R123456": "ASSET-00417"}),
    )


def run_cli(state: StateDir, *args: str) -> Result:
    from sanitize.cli import cli

    return cli_runner().invoke(cli, ["--state-dir", state.path, *args], catch_exceptions=False)


def read_bytes(path: Any) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def read_text(path: Any) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()
