"""Erase method registries for tests: the product's own, with the overwrite checkpointing often.

Interruption and fault tests must catch an erase mid-pass on a device of a few hundred MiB,
which the production cadence (an fsync and a journal write per GiB) would never show.
"""

from __future__ import annotations

from sanitize.erase.method import MethodRegistry
from sanitize.erase.overwrite import Cadence, OverwriteMethod
from sanitize.methods import all_methods


def checkpointing_every(mib: int) -> MethodRegistry:
    registry = all_methods()
    registry.register(OverwriteMethod(Cadence(bytes=mib << 20)))
    return registry
