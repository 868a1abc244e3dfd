"""Traces and batch files of LLM calls, recognised by their schemas' key names.

- LangChain / LangSmith run trees (`Run` objects as JSON): `run_type` (`llm`, `chat_model`,
  `chain`, ...) with `inputs` (`prompts`, `messages`) and `outputs` (`generations`).
- LlamaIndex callback dumps (`CBEvent`: `event_type` `llm`/`templating`/... with a `payload` of
  `EventPayload` keys such as `messages`, `formatted_prompt`, `completion`) and instrumentation
  events (`class_name` `LLMChatStartEvent`, `LLMCompletionEndEvent`, ...).
- Langfuse: observations with `langfuse.observation.input`/`output` span attributes (SDK v3, on
  OpenTelemetry) or API objects of `type` `GENERATION` with `input`/`output`.
- MLflow traces: spans whose attributes hold `mlflow.spanInputs` / `mlflow.spanOutputs`.
- OpenTelemetry GenAI spans: `gen_ai.*` attributes (in the SDK's JSON or OTLP JSON, where the
  name is a `"key"` value): content (`gen_ai.prompt`, `gen_ai.completion`,
  `gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.prompt.N.content`, ...) or only
  metadata (`gen_ai.request.model`: a record of LLM calls without their text).
- OpenAI Batch API files: `custom_id` with a request `body` (input) or a `response` (output).

Only the file's first `TEXT_PREFIX_BYTES` are looked at, for key names; values are never kept.
"""

from __future__ import annotations

import re

from sanitize.detect.base import Category, Detail, FileContext, Finding
from sanitize.detect.bounded_text import read_prefix

# Literals one of which every schema above puts in its first record (cheap first test).
PROBES = (b'"run_type"', b"gen_ai.", b'"custom_id"', b"mlflow.span", b'"event_type"', b'"class_name"',
          b"langfuse.observation", b'"GENERATION"')  # fmt: skip

_RUN_TYPE = re.compile(rb'"run_type"\s*:\s*"(llm|chat_model|chain|prompt|retriever|tool|embedding|parser)"')
_LC_INPUTS = re.compile(
    rb'"(?:inputs|outputs)"\s*:\s*\{\s*"(?:prompts|messages|input|question|query|generations|output|text)"'
)
_LI_EVENT = re.compile(rb'"event_type"\s*:\s*"(llm|templating|query|synthesize|retrieve|agent_step|function_call)"')
_LI_PAYLOAD = re.compile(rb'"(?:messages|formatted_prompt|completion|response|template|template_vars|query_str)"\s*:')
_LI_INSTRUMENT = re.compile(
    rb'"class_name"\s*:\s*"(LLM(?:Chat|Completion|Predict|Structured\w*)(?:Start|End|InProgress)Event)"'
)
_LANGFUSE = re.compile(rb'"?langfuse\.observation\.(?:input|output)"?')
_LANGFUSE_API = re.compile(rb'"type"\s*:\s*"GENERATION"')
_MLFLOW = re.compile(rb'"?mlflow\.span(?:Inputs|Outputs)"?')
_GENAI_CONTENT = re.compile(
    rb'"?gen_ai\.(?:prompt|completion|input\.messages|output\.messages|system_instructions'
    rb"|content\.prompt|content\.completion|user\.message|assistant\.message|choice|tool\.message)\b"
)
_GENAI_ANY = re.compile(rb'"?gen_ai\.(?:request\.model|system|operation\.name|provider\.name|usage\.\w+)"?')
_BATCH_INPUT = re.compile(rb'"custom_id"\s*:\s*"[^"]*"\s*,[^\n]*?"body"\s*:\s*\{[^\n]*?"(?:messages|prompt|input)"\s*:')
_BATCH_OUTPUT = re.compile(rb'"custom_id"\s*:\s*"[^"]*"\s*,[^\n]*?"response"\s*:\s*\{[^\n]*?"body"\s*:')


def _finding(fmt: str, rule: str, details: dict[str, Detail]) -> Finding:
    return Finding(Category.PROMPT_LOG, fmt, f"trace:{rule}", details)


def classify_trace(data: bytes) -> Finding | None:
    """A trace or batch schema whose key names appear in these bytes, or None."""
    if (m := _RUN_TYPE.search(data)) and _LC_INPUTS.search(data):
        return _finding("langchain-run", "langchain-run-tree", {"runs_in_prefix": len(_RUN_TYPE.findall(data)),
                                                                 "run_type": m.group(1).decode()})  # fmt: skip
    if (m := _LI_INSTRUMENT.search(data)) is not None:
        return _finding("llamaindex-events", "llamaindex-instrumentation-event",
                        {"events_in_prefix": len(_LI_INSTRUMENT.findall(data))})  # fmt: skip
    if _LI_EVENT.search(data) and b'"payload"' in data and _LI_PAYLOAD.search(data):
        return _finding("llamaindex-events", "llamaindex-callback-event",
                        {"events_in_prefix": len(_LI_EVENT.findall(data))})  # fmt: skip
    if _LANGFUSE.search(data):
        return _finding("langfuse-trace", "langfuse-observation", {})
    if _LANGFUSE_API.search(data) and b'"traceId"' in data and (b'"input"' in data or b'"output"' in data):
        return _finding("langfuse-trace", "langfuse-generation", {})
    if _MLFLOW.search(data):
        return _finding("mlflow-trace", "mlflow-span-io", {"spans_in_prefix": data.count(b"mlflow.spanInputs")})
    if _GENAI_CONTENT.search(data):
        return _finding("otel-genai-spans", "otel-genai-content", {"content": True})
    if _GENAI_ANY.search(data):
        return _finding("otel-genai-spans", "otel-genai-metadata", {"content": False})
    if _BATCH_INPUT.search(data):
        return _finding("openai-batch", "openai-batch-input", {"requests_in_prefix": data.count(b'"custom_id"')})
    if _BATCH_OUTPUT.search(data):
        return _finding("openai-batch", "openai-batch-output", {"responses_in_prefix": data.count(b'"custom_id"')})
    return None


PROBE_BYTES = 2048  # each schema's telling key is in its first record's first bytes


def _guard(probe: bytes) -> bytes:
    """A byte of the probe that ordinary JSON holds less often than letters and quotes."""
    for c in b"_.":
        if c in probe:
            return bytes([c])
    return probe[1:2]


# detect_trace's first test as a gate's `within` part: one of the probes in the first PROBE_BYTES.
PROBE_GATE = tuple((_guard(p), p, PROBE_BYTES) for p in PROBES)


def detect_trace(ctx: FileContext) -> Finding | None:
    head = ctx.header[:PROBE_BYTES]
    if b'"' not in head:
        return None
    for probe in PROBES:  # a loop, not any(): this runs for every JSON file of a tree
        if probe in head:
            return classify_trace(read_prefix(ctx))
    return None
