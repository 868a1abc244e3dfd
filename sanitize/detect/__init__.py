"""Artifact detectors: one module per format family, registered in `registry.py`."""
