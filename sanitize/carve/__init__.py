"""Forensic carving: find artifact signatures on a raw device, live or deleted."""

from sanitize.carve.allocation import place_hits
from sanitize.carve.model import Allocation, CarveResult, Hit
from sanitize.carve.scanner import CarveOptions, carve
from sanitize.carve.summary import carve_summary, carve_verify, risk_phrase

__all__ = [
    "Allocation",
    "CarveOptions",
    "CarveResult",
    "Hit",
    "carve",
    "carve_summary",
    "carve_verify",
    "place_hits",
    "risk_phrase",
]
