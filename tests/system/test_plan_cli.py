"""`sanitize plan` on named devices: a refusal is also an exit code scripts can test."""

from __future__ import annotations

import json

import pytest

from sanitize.cli import cli
from tests.support.clirunner import cli_runner
from tests.support.lab import LoopLab

pytestmark = pytest.mark.root


def test_named_refused_device_exits_4_and_free_one_exits_0(lab: LoopLab) -> None:
    busy = lab.loop("16M")
    lab.mkfs(busy, "ext4")
    lab.mount(busy)
    free = lab.loop("16M")

    refused = cli_runner().invoke(cli, ["plan", "--json", busy])
    assert refused.exit_code == 4
    (doc,) = json.loads(refused.stdout)["devices"]
    assert doc["status"] == "refused" and "mounted at" in doc["refused"]

    ok = cli_runner().invoke(cli, ["plan", free])
    assert ok.exit_code == 0, ok.output
    assert "overwrite" in ok.stdout
