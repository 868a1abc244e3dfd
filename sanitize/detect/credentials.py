"""Secrets of AI services left on disk: Hugging Face tokens, OpenAI and Anthropic keys, the
Open WebUI session secret, and API keys in `.env` files.

Findings say which rule matched and how many times; they never carry the secret, not even a
prefix of it. Secret-named files are read up to `TEXT_PREFIX_BYTES`, other text files only in
their header (the first 4 KiB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sanitize.detect.base import HEADER_BYTES, TEXT, Category, FileContext, Finding, Gate
from sanitize.detect.bounded_text import read_prefix

# Files whose names say they hold secrets are read up to TEXT_PREFIX_BYTES; any other text file
# is checked in its header only, so a tree full of source files and logs costs no extra reads.
SECRET_FILE_NAMES = frozenset({"token", "stored_tokens", ".webui_secret_key", ".netrc", "credentials"})


@dataclass(frozen=True)
class TokenRule:
    key: str  # details key and evidence name
    format: str
    pattern: re.Pattern[bytes]


# Each pattern starts with its literal prefix so the regex engine can search for it quickly;
# the "not glued to a longer word" check on the byte before a match is done in _count.
TOKEN_RULES: tuple[TokenRule, ...] = (
    TokenRule("anthropic-key", "anthropic-api-key", re.compile(rb"sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_-]{80,}")),
    TokenRule("openai-key", "openai-api-key",
              re.compile(rb"sk-(?!ant-)(?:(?:proj|svcacct|admin)-)?(?=[A-Za-z0-9_-]*\d)"
                         rb"(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}")),
    TokenRule("hf-token", "huggingface-token", re.compile(rb"hf_[A-Za-z0-9]{34,}(?![A-Za-z0-9])")),
)  # fmt: skip
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

_ENV_SECRET = re.compile(
    rb"^[ \t]*(?:export[ \t]+)?[A-Za-z0-9_]*(?:API_KEY|APIKEY|_TOKEN|SECRET_KEY|_SECRET|ACCESS_KEY)[ \t]*=[ \t]*"
    rb"[\"']?([^\s\"'#]{8,})",
    re.MULTILINE | re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    rb"^(?:\$\{|<|x{6,}|your|changeme|replace|example|dummy|none|null|todo|\*{4,})", re.IGNORECASE
)
_SECRET_KEY_FILE = re.compile(rb"\A\s*[\x21-\x7e]{8,256}\s*\Z")


def _count(pattern: re.Pattern[bytes], data: bytes) -> int:
    return sum(1 for m in pattern.finditer(data) if m.start() == 0 or data[m.start() - 1] not in _WORD_BYTES)


def _token_counts(data: bytes) -> dict[str, int]:
    # The common case, decided by memchr on one byte before any substring search. `find`, not
    # `in`: on Python 3.11 `bytes in bytes` first raises and clears a TypeError (it tries the
    # needle as an integer), which costs more than the search on most headers.
    if (data.find(b"_") < 0 or data.find(b"hf_") < 0) and (data.find(b"-") < 0 or data.find(b"sk-") < 0):
        return {}
    counts = {}
    for rule in TOKEN_RULES:
        n = _count(rule.pattern, data)
        if n:
            counts[rule.key] = n
    return counts


def _is_env_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def _finding(counts: dict[str, int], fmt: str, evidence: str) -> Finding:
    details = {k.replace("-", "_"): v for k, v in counts.items()}
    return Finding(Category.CREDENTIAL, fmt, evidence, details)


def sniff_tokens(data: bytes) -> Finding | None:
    counts = _token_counts(data)
    for rule in TOKEN_RULES:  # most specific rule first
        if rule.key in counts:
            return _finding(counts, rule.format, rule.key)
    return None


class CredentialDetector:
    name = "credentials"
    header_class = TEXT
    # A token's prefix in the header (_token_counts), or a name that says the file holds secrets.
    gate = Gate(
        within=((b"_", b"hf_", HEADER_BYTES), (b"-", b"sk-", HEADER_BYTES)),
        names=SECRET_FILE_NAMES | {".env"},
        name_prefixes=(".env.",),
        name_suffixes=(".env",),
    )

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_tokens(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        if ctx.size == 0 or not ctx.is_text:
            return None
        name = ctx.name
        env_file = _is_env_file(name)
        if not env_file and name not in SECRET_FILE_NAMES:  # most text files: header tokens only
            return sniff_tokens(ctx.header)
        data = read_prefix(ctx)
        if name == ".webui_secret_key" and _SECRET_KEY_FILE.match(data):
            return _finding({"secret-key": 1}, "open-webui-secret-key", "webui-secret-key-file")
        counts = _token_counts(data)
        if env_file:
            env = [v for v in _ENV_SECRET.findall(data) if not _PLACEHOLDER.match(v)]
            if env:
                counts["env-api-key"] = len(env)
                return _finding(counts, "dotenv-api-keys", "dotenv-api-key")
        return sniff_tokens(data) if counts else None


DETECTORS = [CredentialDetector()]
