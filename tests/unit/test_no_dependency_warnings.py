"""A user's terminal shows no warning from a dependency: every module of the package is
imported in a fresh interpreter with Python's default warning filters, as a command would."""

from __future__ import annotations

import os
import subprocess
import sys

from sanitize.state import StateDir
from tests.support.certify import recorded_file

IMPORT_ALL = """
import importlib, pkgutil, sanitize
for mod in pkgutil.walk_packages(sanitize.__path__, "sanitize."):
    if mod.name != "sanitize.__main__":
        importlib.import_module(mod.name)
"""


def test_importing_every_module_prints_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr


def test_signing_and_verifying_print_no_warning(tmp_path: os.PathLike[str]) -> None:
    state = os.path.join(str(tmp_path), "state")
    result = recorded_file(StateDir(state))  # as the erase engine records it: what `cert issue` requires
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["SANITIZE_STATE_DIR"] = state
    for argv in (["keys", "init", "--org", "Warning Test"], ["cert", "issue", result], ["archive", "verify"]):
        proc = subprocess.run(
            [sys.executable, "-m", "sanitize", *argv], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert "Warning" not in proc.stderr, proc.stderr
