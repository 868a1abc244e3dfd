"""The erase methods this tool offers, composed in one place.

`erase` knows overwrite and the method interface; `purge` adds the firmware, TCG and LUKS
methods and the planner that answers `--method auto`. Neither knows the other's modules:
this is where they meet, once per command that plans an erase.
"""

from __future__ import annotations

from sanitize.erase.method import MethodRegistry
from sanitize.erase.overwrite import OverwriteMethod


def _purge_methods(registry: MethodRegistry) -> None:
    # Imported on first need: the firmware methods' modules are a tenth of an overwrite's start-up.
    from sanitize import purge

    purge.install(registry)


def all_methods() -> MethodRegistry:
    return MethodRegistry([OverwriteMethod()], more=_purge_methods)
