"""Which detectors exist, as data: one module per format family, each exposing `DETECTORS`.

Add a format family by adding one line to `DETECTOR_MODULES`. A module that fails to import
(a bug, a missing optional dependency) is recorded in `Registry.errors` and the scan goes on
with the others, so one broken detector never hides every other finding.

Order matters: the scanner asks file detectors in this order and keeps the first finding, so
more specific formats (a PyTorch zip) come before generic ones (any zip, any pickle).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from sanitize.detect.app_layout import AppRecogniser
from sanitize.detect.base import DirectoryDetector, FileDetector, HeaderSniffer

DETECTOR_MODULES: list[str] = [
    # model weights, adapters, checkpoints, tokenizers, memory images (weights helper)
    "sanitize.detect.checkpoints",
    "sanitize.detect.hf_cache",
    "sanitize.detect.tf_savedmodel",
    "sanitize.detect.coreml",
    "sanitize.detect.safetensors",
    "sanitize.detect.gguf",
    "sanitize.detect.ggml",
    "sanitize.detect.torch_zip",
    "sanitize.detect.numpy_format",
    "sanitize.detect.hdf5",
    "sanitize.detect.onnx",
    "sanitize.detect.tflite",
    "sanitize.detect.tokenizers",
    "sanitize.detect.memory_images",
    "sanitize.detect.pickle_format",
    # vector stores, SQLite, chats, prompt logs, caches, credentials (stores helper): add below
    "sanitize.detect.sqlite_stores",
    "sanitize.detect.chroma",
    "sanitize.detect.faiss",
    "sanitize.detect.hnswlib",
    "sanitize.detect.usearch",
    "sanitize.detect.milvus",
    "sanitize.detect.redis",
    "sanitize.detect.llamacpp_cache",
    "sanitize.detect.lance",
    "sanitize.detect.qdrant",
    "sanitize.detect.pgvector",
    "sanitize.detect.llamaindex",
    "sanitize.detect.annoy",
    # prompts and outputs written as text (server logs and traces before generic JSON/table rules)
    "sanitize.detect.prompt_text",
    "sanitize.detect.chat_stores",
    "sanitize.detect.prompt_logs",
    "sanitize.detect.credentials",
    # caches and AI applications' data directories
    "sanitize.detect.caches",
    "sanitize.detect.app_data",
]


@dataclass(frozen=True)
class LoadError:
    module: str
    error: str  # exception class and message: never file content, there is none at import time


@dataclass(frozen=True)
class Registry:
    file_detectors: tuple[FileDetector, ...]
    dir_detectors: tuple[DirectoryDetector, ...]
    sniffers: tuple[HeaderSniffer, ...]
    errors: tuple[LoadError, ...]
    # Recognisers of AI applications' data directories (see app_layout): asked about every
    # directory; what they recognise classifies the documented paths below it.
    apps: tuple[AppRecogniser, ...] = ()


def build(modules: Sequence[str]) -> Registry:
    files: list[FileDetector] = []
    dirs: list[DirectoryDetector] = []
    sniffs: list[HeaderSniffer] = []
    apps: list[AppRecogniser] = []
    errors: list[LoadError] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
            detectors = list(module.DETECTORS)
        except Exception as exc:  # any failure of one module must not stop the others
            errors.append(LoadError(module_name, f"{type(exc).__name__}: {exc}"))
            continue
        for detector in detectors:
            # A detector may play several roles (a file detector that also sniffs headers).
            if callable(getattr(detector, "detect", None)):
                files.append(detector)
            if callable(getattr(detector, "detect_dir", None)):
                dirs.append(detector)
            if callable(getattr(detector, "sniff", None)):
                sniffs.append(detector)
            if callable(getattr(detector, "recognise", None)):
                apps.append(detector)
    return Registry(tuple(files), tuple(dirs), tuple(sniffs), tuple(errors), tuple(apps))


@functools.cache
def default() -> Registry:
    return build(DETECTOR_MODULES)


def file_detectors() -> tuple[FileDetector, ...]:
    return default().file_detectors


def dir_detectors() -> tuple[DirectoryDetector, ...]:
    return default().dir_detectors


def sniffers() -> tuple[HeaderSniffer, ...]:
    """Detectors that decide from the first HEADER_BYTES alone (for `sanitize carve`)."""
    return default().sniffers


def load_errors() -> tuple[LoadError, ...]:
    return default().errors
