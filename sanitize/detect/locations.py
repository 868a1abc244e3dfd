"""Known default locations of AI stacks (ai-artifacts.md §2): a hint that adds confidence.

A hint is attached only to something a content rule already found; a path alone never makes
an artifact.
"""

from __future__ import annotations

# (path fragment, hint). Fragments are matched against the absolute path with "/" around them.
KNOWN_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("/.cache/huggingface/", "huggingface-cache"),
    ("/huggingface/hub/", "huggingface-cache"),
    ("/.cache/torch/", "torch-hub"),
    ("/.ollama/models/", "ollama"),
    ("/usr/share/ollama/", "ollama"),
    ("/.lmstudio/", "lm-studio"),
    ("/.cache/lm-studio/", "lm-studio"),
    ("/.cache/llama.cpp/", "llama.cpp-cache"),
    ("/.cache/vllm/", "vllm-cache"),
    ("/nomic.ai/GPT4All/", "gpt4all"),
    ("/app/backend/data/", "open-webui"),
    ("/volumes/open-webui/", "open-webui"),
    ("/server/storage/", "anythingllm"),
    ("/anythingllm-desktop/", "anythingllm"),
    ("/local_data/private_gpt/", "privategpt"),
    ("/jan/threads/", "jan"),
    ("/Jan/data/", "jan"),
    ("/text-generation-webui/", "text-generation-webui"),
    ("/var/lib/docker/volumes/", "docker-volume"),
    ("/var/lib/docker/overlay2/", "docker-image-layer"),
    ("/containers/storage/", "container-storage"),
    ("/var/lib/redis/", "redis"),
    ("/var/lib/postgresql/", "postgresql"),
    ("/var/lib/pgsql/", "postgresql"),
    ("/qdrant/storage/", "qdrant"),
    ("/var/lib/weaviate/", "weaviate"),
)


def location_hint(path: str) -> str | None:
    probe = path if path.endswith("/") else path + "/"
    for fragment, hint in KNOWN_LOCATIONS:
        if fragment in probe:
            return hint
    return None
