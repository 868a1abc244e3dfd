"""Erasing devices: options, plans, the method interface and registry, overwrite, results.

Firmware purges register with the same interface from outside this package (the caller
composes the registry: `sanitize.methods.all_methods()`). See `sanitize.erase.method` for
how to add a method.
"""

from sanitize.erase.method import (
    ExecutionContext,
    Method,
    MethodRegistry,
    NullProgress,
    Planning,
    Progress,
)
from sanitize.erase.options import EraseOptions, FirmwareOptions, LuksOptions
from sanitize.erase.plan import Command, DeviceIo, Plan, Step
from sanitize.erase.planning import build_plan, check_erasable, plan_for
from sanitize.erase.result import CommandRecord, EraseResult, ErrorRange, Verification
from sanitize.erase.runner import new_result, run_plan

__all__ = [
    "Command",
    "CommandRecord",
    "DeviceIo",
    "EraseOptions",
    "EraseResult",
    "ErrorRange",
    "ExecutionContext",
    "FirmwareOptions",
    "LuksOptions",
    "Method",
    "MethodRegistry",
    "NullProgress",
    "Plan",
    "Planning",
    "Progress",
    "Step",
    "Verification",
    "build_plan",
    "check_erasable",
    "new_result",
    "plan_for",
    "run_plan",
]
