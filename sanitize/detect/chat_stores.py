"""Chat histories written by local LLM front-ends, recognised by structure.

- GPT4All `*.chat`: QDataStream (big-endian) magic 0xF5D553CC and a small version.
- JSON documents with a `messages` array of role/content objects (LM Studio
  `*.conversation.json`, exported chats), or text-generation-webui's `internal`/`visible`
  history pairs.
- JSONL (two or more records) whose first line is one message (`role` + `content`), as in Jan's `messages.jsonl`.
- Jan thread directories: `thread.json` next to `messages.jsonl`.
Open WebUI and AnythingLLM keep chats in SQLite (see `sqlite_stores`). Only the first
`TEXT_PREFIX_BYTES` are read; only key names decide.
"""

from __future__ import annotations

import os
import re
import struct

from sanitize.detect.base import HEADER_BYTES, Category, DirContext, FileContext, Finding, Gate
from sanitize.detect.bounded_text import (
    JSON_ARRAY_OPENING,
    JSON_OBJECT_OPENING,
    first_json_line,
    first_significant_byte,
    is_jsonl,
    json_keys,
    read_prefix,
)
from sanitize.detect.dir_files import read_head

GPT4ALL_MAGIC = 0xF5D553CC
_ARRAY_NEXT = frozenset(b'{["]')
_JSON_OPEN = (b"{", b"[")
_JSON_OPEN_BYTES = (ord("{"), ord("["))
_ROLE_VALUE = re.compile(rb'"role"\s*:\s*"(user|assistant|system|human|ai|bot|model|tool)"', re.IGNORECASE)
_MESSAGES_ARRAY = re.compile(rb'"messages"\s*:\s*\[')
_TGWUI_OPENING = rb'\s*\{\s*"(?:internal|visible)"\s*:\s*\[\s*\['
_TGWUI = re.compile(rb"\A" + _TGWUI_OPENING)
_CHAT_KEYS = ((b"m", b'"messages"', HEADER_BYTES), (b"r", b'"role"', HEADER_BYTES))  # (guard, key, end) of a Gate


def sniff_gpt4all(header: bytes) -> Finding | None:
    if len(header) < 16:
        return None
    magic, version = struct.unpack_from(">Ii", header)
    if magic != GPT4ALL_MAGIC or not (1 <= version <= 64):
        return None
    return Finding(Category.CONVERSATION, "gpt4all-chat", "gpt4all-chat-magic", {"version": version})


def classify_json_chat(prefix: bytes) -> Finding | None:
    first = first_significant_byte(prefix)
    if first not in (ord("{"), ord("[")):
        return None
    if first == ord("[") and first_significant_byte(prefix.lstrip(b" \t\r\n\xef\xbb\xbf")[1:64]) not in _ARRAY_NEXT:
        return None  # "[2024-06-01 10:00:00][INFO] ..." is a log line, not a JSON array
    if _TGWUI.match(prefix):
        return Finding(Category.CONVERSATION, "text-generation-webui-chat", "chat-json:internal-visible")
    jsonl = is_jsonl(prefix)
    if not jsonl and _MESSAGES_ARRAY.search(prefix) and _ROLE_VALUE.search(prefix):
        messages = len(_ROLE_VALUE.findall(prefix))
        return Finding(Category.CONVERSATION, "chat-json", "chat-json:messages-role", {"roles_in_prefix": messages})
    line = first_json_line(prefix) if jsonl else None
    if line is not None and "role" in line and ("content" in line or "text" in line) and "messages" not in line:
        return Finding(Category.CONVERSATION, "chat-jsonl", "chat-jsonl:role-content")
    return None


class ChatStoreDetector:
    name = "chat-stores"
    first_bytes = b"\xf5{[ \t\r\n\xef\xbb\xbf"  # GPT4All magic, or JSON after the whitespace/BOM bytes skipped
    # detect()'s rules as a gate: GPT4All's magic, text-generation-webui's opening, or JSON (after
    # whitespace or a BOM) with a chat key in the header.
    gate = Gate(
        opening=rb"\xf5\xd5\x53\xcc|" + _TGWUI_OPENING,
        keyed=((JSON_OBJECT_OPENING, Gate(within=_CHAT_KEYS)), (JSON_ARRAY_OPENING, Gate(within=_CHAT_KEYS))),
    )

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_gpt4all(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        head = ctx.header
        if head[:1] == b"\xf5":  # GPT4All's magic (its first byte is never text)
            return sniff_gpt4all(head)
        if head[:1] not in _JSON_OPEN and first_significant_byte(head[:64]) not in _JSON_OPEN_BYTES:
            return None
        # Chat keys appear near the top; only files that show one in the header are read further.
        if not any(key in head for _, key, _ in _CHAT_KEYS) and not _TGWUI.match(head):
            return None
        return classify_json_chat(read_prefix(ctx))

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if not {"thread.json", "messages.jsonl"} <= ctx.entries:
            return None
        thread = read_head(os.path.join(ctx.path, "thread.json"), 64 * 1024)
        if not {"id", "object"} <= json_keys(thread):
            return None
        first = read_head(os.path.join(ctx.path, "messages.jsonl"), 64 * 1024)
        line = first_json_line(first)
        if line is None or "role" not in line or "thread_id" not in line:
            return None
        return Finding(Category.CONVERSATION, "jan-thread", "jan-thread-dir")


DETECTORS = [ChatStoreDetector()]
