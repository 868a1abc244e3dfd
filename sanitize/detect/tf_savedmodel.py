"""TensorFlow SavedModel directories: `saved_model.pb` (SavedModel proto, starts `08 01 12`)
next to a `variables/` directory holding `variables.index` and `variables.data-*` shards.
TF1-style checkpoints (`checkpoint` text file + `*.index` + `*.data-NNNNN-of-NNNNN`) count too.
"""

from __future__ import annotations

from sanitize.detect.base import Category, DirContext, Finding

SAVED_MODEL_PREFIX = b"\x08\x01\x12"


class SavedModelDetector:
    name = "tf-savedmodel"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "saved_model.pb" in ctx.entries and "variables" in ctx.entries:
            if (ctx.read_member("saved_model.pb", 3) or b"") != SAVED_MODEL_PREFIX:
                return None
            variables = ctx.list_member("variables")
            shards = sum(1 for n in variables if n.startswith("variables.data-"))
            return Finding(
                Category.MODEL_WEIGHTS, "tf-savedmodel", "saved-model-pb+variables", {"variable_shards": shards}
            )
        if "checkpoint" in ctx.entries:
            index = [n for n in ctx.entries if n.endswith(".index")]
            data = [n for n in ctx.entries if ".data-" in n and "-of-" in n]
            text = ctx.read_member("checkpoint", 512) or b""
            if index and data and b"model_checkpoint_path" in text:
                return Finding(
                    Category.TRAINING_CHECKPOINT, "tf-checkpoint", "checkpoint-file+index+data", {"shards": len(data)}
                )
        return None


DETECTORS = [SavedModelDetector()]
