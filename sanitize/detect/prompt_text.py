"""Prompts and model outputs written as text: rendered chat templates, role-tagged transcripts,
templated instruction prompts, inference servers' request logs and LLM traces.

One text detector, so that an ordinary text file costs one call and a few anchored matches:
- JSON (first byte `{` or `[`): trace and batch schemas (`traces`).
- A first line in a known server's log shape: that server's prompt/output records (`server_logs`).
- Otherwise the file must *start* as a prompt does: its first non-blank line opens with a chat
  template's control token (`<|im_start|>`, `<|begin_of_text|>`, `[INST]`, `<start_of_turn>`,
  `<|user|>`, ...), an instruction template's header (`### Instruction:`, `Below is an
  instruction that describes a task`) or a role tag (`User:`, `Human:`, `System:`), and the
  first `TEXT_PREFIX_BYTES` must hold the rest of that format: a second control token of the same
  template, the response header, or turns by two roles. A document or source file that quotes
  a template (after a title, in a string literal, in a Jinja template) does not start that way.
"""

from __future__ import annotations

import re

from sanitize.detect.base import TEXT, Category, FileContext, Finding, Gate
from sanitize.detect.bounded_text import JSON_OBJECT_OPENING, first_significant_byte, read_prefix
from sanitize.detect.server_logs import FAMILY_GATE, SLOW_FIRST, detect_server_log, log_family
from sanitize.detect.traces import PROBE_GATE, detect_trace

# Chat templates: (family, opening tokens a rendered prompt starts with, tokens of the same
# template of which at least two occurrences must follow in the prefix).
TEMPLATES: tuple[tuple[str, tuple[bytes, ...], tuple[bytes, ...]], ...] = (
    ("chatml", (b"<|im_start|>",), (b"<|im_start|>", b"<|im_end|>")),
    ("llama3", (b"<|begin_of_text|>", b"<|start_header_id|>"),
     (b"<|start_header_id|>", b"<|end_header_id|>", b"<|eot_id|>")),
    ("llama2-inst", (b"<s>[INST]", b"[INST]", b"<s> [INST]"), (b"[INST]", b"[/INST]", b"<<SYS>>")),
    ("gemma", (b"<bos><start_of_turn>", b"<start_of_turn>"), (b"<start_of_turn>", b"<end_of_turn>")),
    ("phi-zephyr", (b"<|system|>", b"<|user|>"), (b"<|user|>", b"<|assistant|>", b"<|end|>", b"</s>")),
    ("command-r", (b"<BOS_TOKEN><|START_OF_TURN_TOKEN|>", b"<|START_OF_TURN_TOKEN|>"),
     (b"<|START_OF_TURN_TOKEN|>", b"<|END_OF_TURN_TOKEN|>")),
    ("deepseek", ("<｜begin▁of▁sentence｜>".encode(), "<｜User｜>".encode()),
     ("<｜User｜>".encode(), "<｜Assistant｜>".encode())),
    ("harmony", (b"<|start|>",), (b"<|start|>", b"<|message|>", b"<|end|>")),
)  # fmt: skip
_OPENERS = tuple(sorted({o for _, openers, _ in TEMPLATES for o in openers}, key=len, reverse=True))
_INSTRUCTION_OPEN = re.compile(rb"(?:### ?Instruction:|Below is an instruction that describes a task)")
_INSTRUCTION_RESPONSE = re.compile(rb"^### ?(?:Response|Output|Answer):", re.MULTILINE)
_ROLE_OPEN = re.compile(rb"(?:System|SYSTEM|User|USER|Human|HUMAN|### Human|### User)\s?:")
_ROLE_LINE = re.compile(
    rb"^(?:### )?(System|SYSTEM|User|USER|Human|HUMAN|Assistant|ASSISTANT|AI|Bot|GPT|Model|Claude|Llama)\s?:",
    re.MULTILINE,
)
_ASSISTANT_ROLES = frozenset({b"Assistant", b"ASSISTANT", b"AI", b"Bot", b"GPT", b"Model", b"Claude", b"Llama"})
_TEMPLATE_SYNTAX = (b"{{", b"{%")  # Jinja: a chat template definition, not a rendered prompt
# JSON log lines (old llama.cpp server, TGI --json-output, LiteLLM JSON_LOGS) also start with "{".
_JSON_LOG_OPENINGS = (b'{"tid":', b'{"timestamp":', b'{"message":')


_LEADING = re.compile(rb"[ \t\r\n\xef\xbb\xbf]*")


def _first_line(head: bytes) -> bytes:
    start = _LEADING.match(head).end()  # type: ignore[union-attr]  # matches the empty string at worst
    end = head.find(b"\n", start)
    return head[start : end if end >= 0 else start + 512]


def classify_prompt_text(line: bytes, prefix: bytes) -> Finding | None:
    """A rendered prompt or transcript whose first line is `line` and first bytes are `prefix`."""
    if any(s in prefix for s in _TEMPLATE_SYNTAX):
        return None
    if line.startswith(b"<"):
        for family, openers, tokens in TEMPLATES:
            if line.startswith(openers):
                count = sum(prefix.count(t) for t in tokens)
                if count >= 2:
                    return Finding(Category.PROMPT_LOG, "chat-template-text", f"chat-template:{family}",
                                   {"control_tokens_in_prefix": count})  # fmt: skip
                return None
    if line.startswith(b"[INST]"):
        return classify_prompt_text(b"<s>" + line, prefix)
    if _INSTRUCTION_OPEN.match(line):
        responses = len(_INSTRUCTION_RESPONSE.findall(prefix))
        if responses:
            return Finding(Category.PROMPT_LOG, "instruction-prompt-text", "instruction-template:alpaca",
                           {"responses_in_prefix": responses})  # fmt: skip
        return None
    if _ROLE_OPEN.match(line):
        roles = _ROLE_LINE.findall(prefix)
        assistant = sum(1 for r in roles if r in _ASSISTANT_ROLES)
        if assistant >= 1 and len(roles) - assistant >= 1 and len(roles) >= 3:
            return Finding(Category.PROMPT_LOG, "transcript-text", "role-tagged-turns", {"turns_in_prefix": len(roles)})
    return None


_OPENING_BYTES = frozenset(b"<[#BSUH")
_WHITESPACE = frozenset(b" \t\r\n\xef")
_GATE_FIRST = _OPENING_BYTES | _WHITESPACE | SLOW_FIRST | frozenset(b"[")  # "{": see the gate


def _opens_like_prompt(line: bytes) -> bool:
    first = line[:1]
    if first == b"<" or first == b"[":
        return line.startswith(_OPENERS) or line.startswith(b"[INST]")
    return bool(_INSTRUCTION_OPEN.match(line) or _ROLE_OPEN.match(line))


class PromptTextDetector:
    name = "prompt-text"
    header_class = TEXT
    # detect()'s early returns as a gate: a JSON array, a prompt's opening byte (after whitespace
    # or a BOM), or what log_family needs (a server's line, a wrapper's or preamble's first byte,
    # or a docker compose `| ` in the first 80 bytes). A file starting with "{" is only a trace
    # (one of detect_trace's probes) or a JSON log line (its opening); the keyed opening also
    # takes "{" after whitespace (such files pass the first part anyway), as the other JSON
    # detectors' gates do, so that the scanner tests them together.
    gate = Gate(
        opening=b"[" + b"".join(re.escape(bytes([c])) for c in sorted(_GATE_FIRST)) + b"]|" + FAMILY_GATE
        + b"".join(b"|" + re.escape(o) for o in _JSON_LOG_OPENINGS),
        within=((b"|", b"| ", 80),),
        keyed=((JSON_OBJECT_OPENING, Gate(within=PROBE_GATE)),),
    )  # fmt: skip

    def detect(self, ctx: FileContext) -> Finding | None:
        head = ctx.header
        first = head[0] if head and head[0] not in _WHITESPACE else first_significant_byte(head[:64])
        if first == 0x7B or first == 0x5B:  # { [
            found = detect_trace(ctx)
            if found is not None or first == 0x7B:
                # A JSON log line (TGI, LiteLLM, old llama.cpp server) also starts with "{".
                family = log_family(head) if found is None and head.startswith(_JSON_LOG_OPENINGS) else None
                return found if family is None else detect_server_log(ctx, family)
        family = log_family(head)
        if family is not None:
            return detect_server_log(ctx, family)
        if first not in _OPENING_BYTES:
            return None
        line = _first_line(head)
        if not _opens_like_prompt(line):
            return None
        return classify_prompt_text(line, read_prefix(ctx))


DETECTORS = [PromptTextDetector()]
