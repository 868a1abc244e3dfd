"""Prompt logs: CSV, JSONL and log files whose fields pair a prompt with a model's answer.

One field name is not enough (`input` or `output` alone is everywhere); a finding needs a pair
such as prompt+completion or instruction+output (input+output only next to a field such as
`model` or `tokens`), or a `messages` list per record (fine-tuning and request logs). Only the
CSV header line (in the first 4 KiB) or the first JSON records (within the first
`TEXT_PREFIX_BYTES`) are read.
"""

from __future__ import annotations

import csv
import io
import re

from sanitize.detect.base import TEXT, Category, FileContext, Finding
from sanitize.detect.bounded_text import (
    first_json_line,
    first_significant_byte,
    is_jsonl,
    read_prefix,
)

LINE_LOG_SUFFIXES = (".jsonl", ".ndjson", ".log")
PAIRS: tuple[tuple[str, str], ...] = (
    ("prompt", "completion"),
    ("prompt", "response"),
    ("prompt", "output"),
    ("prompt", "answer"),
    ("instruction", "output"),
    ("instruction", "response"),
    ("query", "response"),
)
# input/output columns are everywhere (test vectors, ETL jobs): they count only next to a field
# that only model calls have.
WEAK_PAIRS: tuple[tuple[str, str], ...] = (("input", "output"),)
LLM_FIELDS = frozenset({"model", "tokens", "prompt_tokens", "completion_tokens", "total_tokens", "usage",
                        "temperature", "max_tokens", "llm", "system_prompt", "finish_reason"})  # fmt: skip
_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_ .-]{0,63}\Z")
# Every rule in match_fields needs one of these names. CSV header cells are ASCII identifiers and
# the csv module only drops quotes, so a first line without any of them (quotes removed, ASCII
# lower-cased) cannot match and is not parsed: most text files stop here.
_KEY_FIELDS = tuple(sorted({a.encode() for a, _ in PAIRS + WEAK_PAIRS} | {b"messages"}))


def match_fields(fields: set[str]) -> str | None:
    lowered = {f.strip().lower() for f in fields}
    for a, b in PAIRS:
        if a in lowered and b in lowered:
            return f"{a}+{b}"
    if lowered & LLM_FIELDS:
        for a, b in WEAK_PAIRS:
            if a in lowered and b in lowered:
                return f"{a}+{b}"
    if "messages" in lowered:
        return "messages"
    return None


def _first_line(prefix: bytes) -> bytes:
    return prefix.split(b"\n", 1)[0].split(b"\r", 1)[0]


def _may_name_fields(line: bytes) -> bool:
    lowered = line.replace(b'"', b"").lower()
    return any(key in lowered for key in _KEY_FIELDS)


def _csv_header(prefix: bytes) -> set[str] | None:
    first_line = _first_line(prefix).decode("utf-8", "replace").strip("\ufeff")
    if not first_line or len(first_line) > 4096:
        return None
    for delimiter in (",", "\t", ";", "|"):
        if delimiter in first_line:
            try:
                row = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
            except csv.Error:
                return None
            cells = [c.strip().strip('"') for c in row]
            if len(cells) >= 2 and all(_IDENTIFIER.match(c) for c in cells):  # a header, not code or data
                return set(cells)
    return None


class PromptLogDetector:
    name = "prompt-logs"
    header_class = TEXT

    def detect(self, ctx: FileContext) -> Finding | None:
        head = ctx.header
        if ctx.size == 0 or not ctx.is_text:
            return None
        if first_significant_byte(head[:64]) == ord("{"):
            # Read further only when the first two records do not fit in the header.
            prefix = head if head.count(b"\n") >= 2 or ctx.size <= len(head) else read_prefix(ctx)
            return self._jsonl(ctx, prefix)
        if not _may_name_fields(_first_line(head)):
            return None
        columns = _csv_header(head)  # a CSV header line always fits in the first 4 KiB
        if columns is not None and (rule := match_fields(columns)) is not None:
            return Finding(Category.PROMPT_LOG, "csv-prompt-log", f"prompt-log-csv:{rule}", {"columns": len(columns)})
        return None

    @staticmethod
    def _jsonl(ctx: FileContext, prefix: bytes) -> Finding | None:
        # A single JSON document is left to the chat/store detectors; logs have one record per line.
        if not (is_jsonl(prefix) or ctx.name.endswith(LINE_LOG_SUFFIXES)):
            return None
        record = first_json_line(prefix)
        rule = match_fields(set(record)) if record is not None else None
        if rule is None:
            return None
        details = {"records_in_prefix": prefix.count(b"\n")}
        return Finding(Category.PROMPT_LOG, "jsonl-prompt-log", f"prompt-log-jsonl:{rule}", details)


DETECTORS = [PromptLogDetector()]
