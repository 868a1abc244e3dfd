"""AI applications' data directories: recognised by content, then reported by documented layout.

Each recogniser confirms the directory from a file the application writes (a database schema,
a manifest, a key, a config file), read through `DirContext` with a bounded length, and returns
the application's layout (see `app_layout`). Sources of each layout:

- Ollama home (`~/.ollama`): `id_ed25519` (the server's OpenSSH key, `auth/auth.go`) and
  `history` (the REPL's prompts, `readline/history.go`).
- Ollama models (`OLLAMA_MODELS`, `blobs/` + `manifests/`): every blob named by a manifest layer
  is classified by the layer's media type (`server/images.go`: model, adapter, projector,
  template/prompt, system, params, messages, ...).
- Open WebUI (`/app/backend/data`): `webui.db`, `uploads/`, `cache/`, `vector_db/`,
  `.webui_secret_key` (open-webui docs).
- AnythingLLM (`STORAGE_DIR`): `anythingllm.db`, `documents/`, `vector-cache/`, `lancedb/`,
  `direct-uploads/`, `generated-images/`, `comkey/`, `push-notifications/vapid-keys.json`
  (`server/utils/files`, `comKey`, `PushNotifications`).
- LM Studio (`~/.lmstudio`): `.internal/` (the `lms` key and server config, `lmstudioPaths.ts`),
  `conversations/`, `user-files/`, `server-logs/`.
- Jan data folder: `threads/` (chats), `assistants/*/assistant.json` (instructions).
- GPT4All (`~/.local/share/nomic.ai/GPT4All`): `*.chat`, `localdocs_v*.db`, `embeddings_v*.dat`.
- text-generation-webui (`user_data/`, or the install root before it existed): `logs/chat`,
  `logs/instruct`, `logs/notebook`, `training/datasets` (`modules/chat.py`, `modules/prompts.py`).
- PrivateGPT: `settings.yaml` naming `local_data_folder`, and `local_data/`.
- LocalAI: the configuration directory (`api_keys.json`) and the files API upload directory
  (`uploadedFiles.json`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sanitize.detect.app_layout import AppLayout, LayoutRule
from sanitize.detect.base import Category, DirContext
from sanitize.detect.sqlite_readonly import has_sqlite_header
from sanitize.detect.sqlite_stores import tables_in_prefix

C = Category
SCHEMA_PREFIX = 64 * 1024  # enough for the sqlite_master pages of a freshly migrated database
SMALL = 4096
MANIFEST_BYTES = 16 * 1024
MAX_MANIFESTS = 32  # 32 x 16 KiB stays well inside a directory's READ_BUDGET
MAX_LISTED = 256


def _json(data: bytes | None) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _sqlite_tables(ctx: DirContext, name: str) -> set[str] | None:
    """Table names visible in the first pages of a SQLite member, or None if it is not SQLite."""
    head = ctx.read_member(name, SCHEMA_PREFIX)
    if head is None or not has_sqlite_header(head):
        return None
    return tables_in_prefix(head)


# -- Ollama -------------------------------------------------------------------------------------

OPENSSH_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_SSH_FILES = frozenset({"known_hosts", "authorized_keys", "config", "known_hosts.old"})
OLLAMA_MEDIA = "application/vnd.ollama.image."
# Layer media types (server/images.go, server/create.go, manifest/layer.go) -> what the blob holds.
OLLAMA_LAYERS: dict[str, tuple[Category, str]] = {
    "model": (C.MODEL_WEIGHTS, "ollama-model"),
    "adapter": (C.ADAPTER, "ollama-adapter"),
    "projector": (C.MODEL_WEIGHTS, "ollama-projector"),
    "tensor": (C.MODEL_WEIGHTS, "ollama-tensor"),
    "draft": (C.MODEL_WEIGHTS, "ollama-draft-model"),
    "embed": (C.MODEL_WEIGHTS, "ollama-embeddings"),
    "params": (C.MODEL_WEIGHTS, "ollama-params"),
    "template": (C.PROMPT_LOG, "ollama-template"),
    "prompt": (C.PROMPT_LOG, "ollama-template"),
    "system": (C.PROMPT_LOG, "ollama-system-prompt"),
    "messages": (C.CONVERSATION, "ollama-messages"),
}
_DIGEST = re.compile(r"\Asha256[:-]([0-9a-f]{64})\Z")


class OllamaHomeRecogniser:
    """`~/.ollama` (or `/usr/share/ollama/.ollama`): the server key proves it, whatever else is there."""

    name = "ollama-home"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        # ~/.ssh holds the same key pair: Ollama's home has its history or models beside it, and
        # none of ssh's own files.
        if "id_ed25519" not in ctx.entries or not ({"history", "models"} & ctx.entries) or _SSH_FILES & ctx.entries:
            return None
        key = ctx.read_member("id_ed25519", len(OPENSSH_KEY))
        if key != OPENSSH_KEY:
            return None
        return AppLayout("ollama", "ollama-server-key", (
            LayoutRule("history", C.PROMPT_LOG, "ollama-history"),
            LayoutRule("id_ed25519", C.CREDENTIAL, "ollama-private-key"),
        ))  # fmt: skip


class OllamaModelsRecogniser:
    """`OLLAMA_MODELS`: manifests name every blob and say what it holds."""

    name = "ollama-models"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "manifests" not in ctx.entries or "blobs" not in ctx.entries:
            return None
        named: dict[str, tuple[Category, str]] = {}
        manifests = 0
        for path in self._manifest_paths(ctx):
            doc = _json(ctx.read_member(path, MANIFEST_BYTES))
            layers = doc.get("layers") if isinstance(doc, dict) else None
            if not isinstance(layers, list):
                continue
            for layer in layers[:256]:
                if not isinstance(layer, dict):
                    continue
                media, digest = layer.get("mediaType"), layer.get("digest")
                if not isinstance(media, str) or not media.startswith(OLLAMA_MEDIA) or not isinstance(digest, str):
                    continue
                manifests += 1
                kind = OLLAMA_LAYERS.get(media[len(OLLAMA_MEDIA) :])
                m = _DIGEST.match(digest)
                if kind is not None and m is not None:
                    named[f"blobs/sha256-{m.group(1)}"] = kind
        if not manifests:
            return None
        return AppLayout("ollama", "ollama-manifest", named_files=named)

    @staticmethod
    def _manifest_paths(ctx: DirContext) -> list[str]:
        """manifests/<registry>/<namespace>/<model>/<tag>, at most MAX_MANIFESTS of them."""
        paths: list[str] = []
        level = ["manifests"]
        for _ in range(4):  # registry, namespace, model, tag
            deeper = []
            for parent in level:
                for name in sorted(ctx.list_member(parent, MAX_LISTED)):
                    deeper.append(f"{parent}/{name}")
            level = deeper[: MAX_LISTED * 4]
        for path in level:
            if len(paths) >= MAX_MANIFESTS:
                break
            paths.append(path)
        return paths


# -- Open WebUI, AnythingLLM ----------------------------------------------------------------------


class OpenWebUIRecogniser:
    name = "open-webui"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "webui.db" not in ctx.entries:
            return None
        tables = _sqlite_tables(ctx, "webui.db")
        if tables is None:
            return None
        if "chat" in tables and tables & {"auth", "user"}:
            evidence = "open-webui-database"
        elif ".webui_secret_key" in ctx.entries:
            evidence = "open-webui-database+secret-key"  # schema pages beyond the bytes read
        else:
            return None
        return AppLayout("open-webui", evidence, (
            LayoutRule("uploads", C.DOCUMENT_STORE, "open-webui-uploads", unit=True),
            LayoutRule("docs", C.DOCUMENT_STORE, "open-webui-docs", unit=True),
            LayoutRule("cache", C.INFERENCE_CACHE, "open-webui-cache", unit=True),
            LayoutRule("vector_db", C.VECTOR_STORE, "open-webui-vector-db", unit=True),
            LayoutRule(".webui_secret_key", C.CREDENTIAL, "open-webui-secret-key"),
        ))  # fmt: skip


class AnythingLLMRecogniser:
    name = "anythingllm"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "anythingllm.db" not in ctx.entries:
            return None
        tables = _sqlite_tables(ctx, "anythingllm.db")
        if tables is None:
            return None
        if "workspace_chats" in tables:
            evidence = "anythingllm-database"
        elif {"documents", "vector-cache"} <= ctx.entries:
            evidence = "anythingllm-database+layout"
        else:
            return None
        return AppLayout("anythingllm", evidence, (
            LayoutRule("documents", C.DOCUMENT_STORE, "anythingllm-documents", unit=True),
            LayoutRule("direct-uploads", C.DOCUMENT_STORE, "anythingllm-uploads", unit=True),
            LayoutRule("vector-cache", C.VECTOR_STORE, "anythingllm-vector-cache", unit=True),
            LayoutRule("lancedb", C.VECTOR_STORE, "anythingllm-lancedb", unit=True),
            LayoutRule("generated-images", C.DOCUMENT_STORE, "anythingllm-generated-images", unit=True),
            LayoutRule("comkey", C.CREDENTIAL, "anythingllm-comkey", unit=True),
            LayoutRule("push-notifications/vapid-keys.json", C.CREDENTIAL, "anythingllm-vapid-keys"),
        ))  # fmt: skip


# -- LM Studio, Jan, GPT4All ---------------------------------------------------------------------


class LMStudioRecogniser:
    name = "lm-studio"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if ".internal" not in ctx.entries or not ({"models", "conversations", "settings.json"} & ctx.entries):
            return None
        internal = ctx.list_member(".internal", MAX_LISTED)
        configs = sorted(n for n in internal if n.endswith(".json"))[:4]
        if not any(isinstance(_json(ctx.read_member(f".internal/{n}", SMALL * 4)), (dict, list)) for n in configs):
            return None
        return AppLayout("lm-studio", "lm-studio-internal-config", (
            LayoutRule("conversations/**", C.CONVERSATION, "lm-studio-conversation"),
            LayoutRule("user-files", C.DOCUMENT_STORE, "lm-studio-user-files", unit=True),
            LayoutRule("server-logs", C.PROMPT_LOG, "lm-studio-server-logs", unit=True),
            LayoutRule(".internal/lms-key*", C.CREDENTIAL, "lm-studio-lms-key"),
        ))  # fmt: skip


class JanRecogniser:
    name = "jan"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "threads" not in ctx.entries or not ({"assistants", "settings", "extensions", "engines"} & ctx.entries):
            return None
        found = False
        for thread in sorted(ctx.list_member("threads", 64))[:8]:
            doc = _json(ctx.read_member(f"threads/{thread}/thread.json", SMALL * 4))
            if isinstance(doc, dict) and doc.get("object") == "thread":
                found = True
                break
        if not found:
            doc = _json(ctx.read_member("assistants/jan/assistant.json", SMALL * 4))
            found = isinstance(doc, dict) and "instructions" in doc
        if not found:
            return None
        return AppLayout("jan", "jan-thread-or-assistant", (
            LayoutRule("threads/**", C.CONVERSATION, "jan-thread"),
            LayoutRule("assistants/*/assistant.json", C.PROMPT_LOG, "jan-assistant-instructions"),
        ))  # fmt: skip


_LOCALDOCS = frozenset(f"localdocs_v{n}.db" for n in range(10))


class GPT4AllRecogniser:
    name = "gpt4all"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        # The LocalDocs database is created at start-up; chats alone are found by their own magic.
        localdocs = sorted(_LOCALDOCS & ctx.entries)
        if not localdocs or not (ctx.read_member(localdocs[0], 100) or b"").startswith(b"SQLite format 3\0"):
            return None
        evidence = "gpt4all-localdocs"
        return AppLayout("gpt4all", evidence, (
            LayoutRule("*.chat", C.CONVERSATION, "gpt4all-chat"),
            LayoutRule("localdocs_v*.db", C.VECTOR_STORE, "gpt4all-localdocs"),
            LayoutRule("embeddings_v*.dat", C.VECTOR_STORE, "gpt4all-embeddings"),
        ))  # fmt: skip


# -- text-generation-webui, PrivateGPT, LocalAI --------------------------------------------------


class TextGenWebUIRecogniser:
    name = "text-generation-webui"
    _DIRS = frozenset({"characters", "instruction-templates", "presets", "loras", "models", "training"})

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "CMD_FLAGS.txt" not in ctx.entries or len(self._DIRS & ctx.entries) < 2:
            return None
        flags = ctx.read_member("CMD_FLAGS.txt", SMALL) or b""
        # The shipped file: comment lines about launch flags ("--listen --api").
        if not flags.lstrip().startswith(b"#") or b"--" not in flags:
            return None
        return AppLayout("text-generation-webui", "tgwui-cmd-flags", (
            LayoutRule("logs/chat/**", C.CONVERSATION, "text-generation-webui-chat"),
            LayoutRule("logs/instruct/**", C.CONVERSATION, "text-generation-webui-chat"),
            LayoutRule("logs/persistent_*.json", C.CONVERSATION, "text-generation-webui-chat"),
            LayoutRule("logs/notebook/**", C.PROMPT_LOG, "text-generation-webui-notebook"),
            LayoutRule("training/datasets", C.DOCUMENT_STORE, "text-generation-webui-datasets", unit=True),
        ))  # fmt: skip


class PrivateGPTRecogniser:
    name = "privategpt"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "settings.yaml" not in ctx.entries or "local_data" not in ctx.entries:
            return None
        settings = ctx.read_member("settings.yaml", SMALL * 4) or b""
        if b"local_data_folder:" not in settings:
            return None
        return AppLayout("privategpt", "privategpt-settings", (
            LayoutRule("local_data", C.DOCUMENT_STORE, "privategpt-local-data", unit=True),
        ))  # fmt: skip


class LocalAIRecogniser:
    """The configuration directory (`LOCALAI_CONFIG_DIR`) and the files API upload directory."""

    name = "localai"

    def recognise(self, ctx: DirContext) -> AppLayout | None:
        if "uploadedFiles.json" in ctx.entries:
            files = _json(ctx.read_member("uploadedFiles.json", SMALL * 16))
            first = files[0] if isinstance(files, list) and files else None
            if isinstance(first, dict) and first.get("object") == "file" and "purpose" in first:
                return AppLayout("localai", "localai-uploaded-files", (
                    LayoutRule("*", C.DOCUMENT_STORE, "localai-upload"),
                ))  # fmt: skip
        if "api_keys.json" in ctx.entries and ({"external_backends.json", "runtime_settings.json"} & ctx.entries):
            keys = _json(ctx.read_member("api_keys.json", SMALL * 4))
            if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
                return AppLayout("localai", "localai-config-dir", (
                    LayoutRule("api_keys.json", C.CREDENTIAL, "localai-api-keys"),
                ))  # fmt: skip
        return None


DETECTORS = [
    OllamaHomeRecogniser(),
    OllamaModelsRecogniser(),
    OpenWebUIRecogniser(),
    AnythingLLMRecogniser(),
    LMStudioRecogniser(),
    JanRecogniser(),
    GPT4AllRecogniser(),
    TextGenWebUIRecogniser(),
    PrivateGPTRecogniser(),
    LocalAIRecogniser(),
]
