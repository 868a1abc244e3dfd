"""Training checkpoint directories: the Hugging Face Trainer's `checkpoint-N/` (trainer state
plus optimizer/scheduler/RNG state next to the weights) and DeepSpeed `global_stepN/` shards.
A lone optimizer file is found by content (torch_zip: a pickle naming optimizer state).
"""

from __future__ import annotations

from sanitize.detect.base import Category, DirContext, Finding

_STATE_FILES = frozenset({"optimizer.pt", "optimizer.bin", "scheduler.pt", "rng_state.pth", "training_args.bin"})
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


class TrainerCheckpointDetector:
    name = "trainer-checkpoint"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "trainer_state.json" in ctx.entries:
            state = _STATE_FILES & ctx.entries
            weights = any(n.endswith(_WEIGHT_SUFFIXES) for n in ctx.entries - _STATE_FILES)
            head = ctx.read_member("trainer_state.json", 2048) or b""
            if (state or weights) and b"global_step" in head:
                return Finding(
                    Category.TRAINING_CHECKPOINT,
                    "hf-trainer-checkpoint",
                    "trainer-state+" + ("optimizer-state" if state else "weights"),
                    {"state_files": len(state)},
                )
        if ctx.name.startswith("global_step") and any(n.endswith("optim_states.pt") for n in ctx.entries):
            return Finding(Category.TRAINING_CHECKPOINT, "deepspeed-checkpoint", "deepspeed-optim-states", {})
        return None


DETECTORS = [TrainerCheckpointDetector()]
