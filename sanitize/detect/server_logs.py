"""Inference servers' own logs, when they record prompts or outputs.

A log is first attributed to a server by the shape of its lines (taken from each server's
logging code), then the lines that carry a prompt or an output are counted. A server log without
such lines (startup, access lines) is not a prompt log. Line layouts, from upstream source:

- vLLM `vllm/entrypoints/logger.py` (RequestLogger), formatter in `vllm/logger.py`
  (`LEVEL MM-DD HH:MM:SS [file.py:N] msg`, optionally `(APIServer pid=N) ` before it):
  `Received request ID: prompt: '...'` (before 0.10), `Request ID details: prompt: '...'` (debug,
  after), `Generated response ID[ (streaming ...)]: output: '...'` (`--enable-log-outputs`).
- Ollama, slog text handler (`time=... level=... source=file.go:N msg=...`): `msg="chat request"`
  / `msg="generate request"` with `prompt="..."` at DEBUG (server/routes.go, up to 0.6), and
  `msg="completion request" prompt="..."` / `msg="embedding request" input=...` at TRACE
  (llm/server.go, 0.7 on). A DEBUG `completion request` with `prompt=<length>` carries no text.
- llama.cpp server (`srv  %12.*s: ` / `slot %12.*s: id %2d | task %d | ` prefixes, optional
  `--log-timestamps`/`--log-prefix` prefix): verbose `srv  log_server_r: request:  {body}` and
  `response: {body}` (server-http.cpp), `prompt token %3d: %6d '%s'` slot lines; the older
  JSON/text server_log with `"function":"log_server_request"` and a `"request"` body.
- TGI router (tracing-subscriber fmt with file and line, or `--json-output`): DEBUG `Input: ...`
  and `Output: ...` (router/src/server.rs).
- LiteLLM (`HH:MM:SS - LiteLLM[ Proxy| Router]:LEVEL: file.py:N - msg`, or JSON logs):
  `Request received by LiteLLM:` followed by the request JSON, `POST Request Sent from LiteLLM:`
  followed by a curl command with the payload.
- LocalAI: zerolog console (`3:04PM DBG msg`) before 3.x, xlog (`Jan 02 15:04:05 DEBUG msg`, or
  slog text/JSON) after: `Prompt (before templating)`, `Prompt (after templating)`,
  `Template found, input modified`, and `Response` with the reply.
- LM Studio's server log (`[YYYY-MM-DD HH:MM:SS][LEVEL] ...`): `Received POST request to
  /v1/... with body: {...}` (from LM Studio's own log view; the application is closed source).

Lines are matched after removing ANSI colour codes and a wrapper that log collectors add
(docker compose `service  | `, a journald short prefix, a container runtime RFC 3339 stamp).
Reports carry counts and the rule, never a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sanitize.detect.base import Category, Detail, FileContext, Finding

LOG_WINDOW = 64 * 1024  # read from the start and, for larger files, from the end
_ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
_WRAPPER = re.compile(
    rb"(?:[\w.-]{1,64} {1,40}\| )?"  # docker compose
    rb"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [\w.-]+ [\w./@-]+(?:\[\d+\])?: )?"  # journald short
    rb"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) (?=\S))?"  # container runtime stamp
)


@dataclass(frozen=True)
class LogFamily:
    name: str
    line: re.Pattern[bytes]  # matches the start of any line this server writes
    probes: tuple[bytes, ...]  # a line that carries text contains one of these literals
    prompt: re.Pattern[bytes]  # searched in a probed line: the line records a prompt
    output: re.Pattern[bytes] | None = None  # ... or an output
    follow: re.Pattern[bytes] | None = None  # the payload is on the next lines (LiteLLM): it must match there


_LEVEL = rb"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|TRACE)"
FAMILIES: tuple[LogFamily, ...] = (
    LogFamily(
        "vllm",
        re.compile(rb"(?:\(\w+ pid=\d+\) )?" + _LEVEL + rb" \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[?[\w./-]+:\d+\] "),
        (b": prompt: ", b": output: "),
        re.compile(rb"(?:Received request \S+|Request \S+ details): prompt: (?:'|\")"),
        re.compile(rb"Generated response \S+(?: \(streaming (?:delta|complete)\))?: output: (?:'|\")"),
    ),
    LogFamily(
        "ollama",
        re.compile(rb"time=\S+ level=" + _LEVEL + rb" source=[\w./-]+:\d+ msg="),
        (b' request"',),
        re.compile(
            rb'msg="(?:chat|generate|completion) request" (?:[^\n]*? )?prompt=(?:"|(?!\d+(?: |$))[^\s"])'
            rb'|msg="embedding request" (?:[^\n]*? )?input='
        ),
    ),
    LogFamily(
        "llama-cpp-server",
        re.compile(
            # The first lines llama-server prints (common.cpp, llama.cpp), then its SRV_/SLT_ prefixes.
            rb"build: \d+ \([0-9a-f]+\) with |main: (?:HTTP server|server is listening|loading model)"
            rb"|llama_model_loader: "
            rb"|(?:\d+\.\d\d\.\d{3}\.\d{3} [IWED] )?(?:srv  |slot |que  ) *\w{1,25}: "
            rb"|\{\"tid\":\"\d+\",\"timestamp\":\d+,\"level\":\"\w+\",\"function\":\"\w+\""
            rb"|(?:VERB|INFO|WARN|ERR) \[ *\w+\] \w"
        ),
        (b"log_server_r", b"prompt token", b'"request":"', b'request="'),
        re.compile(
            rb"log_server_r\w*: request: +\{|prompt token +\d+: +-?\d+ '"
            rb"|\"function\":\"log_server_request\".*\"request\":\"\{"
            rb"|log_server_request\] request \|.* request=\"\{"
        ),
        re.compile(rb"log_server_r\w*: response: +\{\"(?:choices|content|id)"),
    ),
    LogFamily(
        "tgi",
        re.compile(
            rb" *(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z +)?"
            + _LEVEL
            + rb" [^\n]{0,4096}?text_generation_(?:router|launcher)"
            rb"|\{\"timestamp\":\"[^\"]+\",\"level\":\"\w+\",\"message\":"
        ),
        (b"Input: ", b"Output: "),
        re.compile(rb"text_generation_router[\w:]*: (?:[\w./-]+:\d+: )?Input: |\"message\":\"Input: "),
        re.compile(rb"text_generation_router[\w:]*: (?:[\w./-]+:\d+: )?Output: |\"message\":\"Output: "),
    ),
    LogFamily(
        "litellm",
        re.compile(
            rb"(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d(?:,\d+)? - LiteLLM(?: Proxy| Router)?:" + _LEVEL + rb": "
            rb"|\{\"message\": \"[^\n]*\", \"level\": \"\w+\", \"timestamp\": "
        ),
        (b"by LiteLLM:", b"from LiteLLM:"),
        re.compile(rb"(?:Request received by LiteLLM|POST Request Sent from LiteLLM):"),
        follow=re.compile(rb"[\"'](?:messages|prompt|input|contents)[\"']\s*:"),
    ),
    LogFamily(
        "localai",
        re.compile(
            rb"\d{1,2}:\d\d[AP]M (?:TRC|DBG|INF|WRN|ERR) "
            rb"|[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d (?:DEBUG|INFO |WARN |ERROR) "
            rb"|time=\S+ level=\w+ msg=\"?(?:Prompt \(|Template found|Response)"
        ),
        (b"templat", b"Response"),
        re.compile(rb"Prompt \((?:before|after) templating\)|Template found, input modified"),
        re.compile(rb"(?:DBG|DEBUG) Response(?:: \{| \[| +response=)|msg=\"?Response\"? response="),
    ),
    LogFamily(
        "lm-studio-server",
        re.compile(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\[" + _LEVEL + rb"\]"),
        (b"with body",),
        re.compile(rb"Received (?:POST request to|request: POST to) /\S+ with body: *\{"),
    ),
)
# Asked about every text file: one compiled alternation tried at the first line, so ordinary text
# fails on its first character. A collector's wrapper or a preamble (a new key, a container
# banner) is only looked for when the text starts like one.
_FAMILY_LINE = re.compile(
    b"|".join(b"(?P<%s>%s)" % (f.name.replace("-", "_").encode(), f.line.pattern) for f in FAMILIES)
)
_BY_GROUP = {f.name.replace("-", "_"): f for f in FAMILIES}
_PREAMBLE = (b"=", b"*", b"Couldn't find", b"Your new public key", b"ssh-", b"NVIDIA", b"CUDA", b"Container image",
             b"This container", b"A copy of this", b"By pulling", b"WARNING: ")  # fmt: skip
MAX_PREAMBLE = 24
SLOW_FIRST = frozenset(b"JFMASOND0123456789=*CYsNTBW \t\r\n\x1b")  # wrappers, preambles, colour codes
FAMILY_GATE = b"|".join(b"(?:%s)" % f.line.pattern for f in FAMILIES)  # _FAMILY_LINE without its group names


def _clean(line: bytes) -> bytes:
    if b"\x1b" in line:
        line = _ANSI.sub(b"", line)
    m = _WRAPPER.match(line)
    return line[m.end() :] if m is not None and m.end() else line


def _family_at(header: bytes, pos: int) -> LogFamily | None:
    m = _FAMILY_LINE.match(header, pos)
    if m is None and pos < len(header):
        wrapped = _WRAPPER.match(header, pos)
        if wrapped is not None and wrapped.end() > pos:
            m = _FAMILY_LINE.match(header, wrapped.end())
    return _BY_GROUP[m.lastgroup] if m is not None and m.lastgroup is not None else None


def log_family(header: bytes) -> LogFamily | None:
    """The server whose line shape the header's first line (after any preamble, behind any
    collector's wrapper) has, or its second line when the first is not a log line."""
    m = _FAMILY_LINE.match(header)
    if m is not None:
        return _BY_GROUP[m.lastgroup] if m.lastgroup is not None else None
    if not header or (header[0] not in SLOW_FIRST and b"| " not in header[:80]):
        return None  # ordinary text: decided by one failed match
    if b"\x1b" in header[:256]:
        header = _ANSI.sub(b"", header)
    pos = 0
    for _ in range(MAX_PREAMBLE):
        line_end = header.find(b"\n", pos)
        line = header[pos : line_end if line_end >= 0 else len(header)]
        if line_end < 0 or (line.strip() and not line.startswith(_PREAMBLE)):
            break
        pos = line_end + 1
    found = _family_at(header, pos)
    if found is None:
        nl = header.find(b"\n", pos)
        found = _family_at(header, nl + 1) if nl >= 0 else None
    return found


def _windows(ctx: FileContext) -> list[bytes]:
    """The first LOG_WINDOW bytes and, if the file is longer, its last LOG_WINDOW bytes (whole lines)."""
    first = ctx.header if ctx.size <= len(ctx.header) else ctx.header + ctx.read_at(
        len(ctx.header), min(ctx.size, LOG_WINDOW) - len(ctx.header))  # fmt: skip
    if ctx.size <= 2 * LOG_WINDOW:
        rest = ctx.read_at(len(first), ctx.size - len(first)) if ctx.size > len(first) else b""
        return [first + rest]
    last = ctx.read_at(ctx.size - LOG_WINDOW, LOG_WINDOW)
    return [first, last.split(b"\n", 1)[-1]]


def count_records(family: LogFamily, windows: list[bytes]) -> tuple[int, int]:
    prompts = outputs = 0
    for window in windows:
        lines = window.split(b"\n")
        for i, raw in enumerate(lines):
            if not any(p in raw for p in family.probes):
                continue
            line = _clean(raw)
            if family.prompt.search(line):
                if family.follow is None or family.follow.search(b"\n".join(lines[i : i + 12])[:4096]):
                    prompts += 1
            elif family.output is not None and family.output.search(line):
                outputs += 1
    return prompts, outputs


def detect_server_log(ctx: FileContext, family: LogFamily) -> Finding | None:
    prompts, outputs = count_records(family, _windows(ctx))
    if not prompts and not outputs:
        return None
    kind = "prompts+outputs" if prompts and outputs else "prompts" if prompts else "outputs"
    details: dict[str, Detail] = {"prompt_records": prompts, "output_records": outputs}
    if ctx.size > 2 * LOG_WINDOW:
        details["records_counted_in"] = "first and last 64 KiB"
    return Finding(Category.PROMPT_LOG, f"{family.name}-log", f"server-log:{family.name}:{kind}", details)
