"""The erase methods this tool offers, composed in one place.

`erase` knows overwrite and the method interface; `purge` adds the firmware, TCG and LUKS
methods and the planner that answers `--method auto`. Neither knows the other's modules:
this is where they meet, once per command that plans an erase.
"""

from __future__ import annotations

from sanitize import purge
from sanitize.erase.method import MethodRegistry
from sanitize.erase.overwrite import OverwriteMethod


def all_methods() -> MethodRegistry:
    return purge.install(MethodRegistry([OverwriteMethod()]))
