"""Erasing devices: plans, methods (overwrite here, firmware purges in sanitize.purge), results.

See `sanitize.erase.method` for how to add a method.
"""

from sanitize.erase.method import (
    ExecutionContext,
    Method,
    NullProgress,
    Progress,
    get_method,
    method_names,
    register,
    set_auto_chooser,
)
from sanitize.erase.plan import EraseOptions, Plan, Step, build_plan, check_erasable
from sanitize.erase.result import CommandRecord, EraseResult, ErrorRange, Verification
from sanitize.erase.runner import new_result, run_plan

__all__ = [
    "CommandRecord",
    "EraseOptions",
    "EraseResult",
    "ErrorRange",
    "ExecutionContext",
    "Method",
    "NullProgress",
    "Plan",
    "Progress",
    "Step",
    "Verification",
    "build_plan",
    "check_erasable",
    "get_method",
    "method_names",
    "new_result",
    "register",
    "run_plan",
    "set_auto_chooser",
]
