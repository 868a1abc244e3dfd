"""PyTorch zip archives (torch.save >= 1.6), TorchScript and torch.export `.pt2`.

Member names decide: `<root>/data.pkl` (+ `data/N` storages) is torch.save; `constants.pkl`
and `code/` add TorchScript; `archive_format` / `models/*.json` / `data/weights/` mark `.pt2`.
A training checkpoint is a torch.save whose pickle names optimizer state: torch stores
`data.pkl` uncompressed, so its first bytes are read directly (capped) and searched for the
optimizer's key names. Only member counts and root names are reported.
"""

from __future__ import annotations

from sanitize.detect.base import Category, Detail, FileContext, Finding
from sanitize.detect.ziplist import ZipDirectory, central_directory, read_stored

PICKLE_PEEK = 256 * 1024
OPTIMIZER_MARKERS = (b"optimizer", b"exp_avg", b"param_groups", b"momentum_buffer")
LORA_MARKERS = (b"lora_A", b"lora_B")


def _classify(zd: ZipDirectory) -> tuple[str, dict[str, Detail]] | None:
    names = zd.names
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    storages = sum(1 for n in names if "/data/" in n and n.rsplit("/", 1)[-1].isdigit())
    details: dict[str, Detail] = {"zip_entries": zd.total}
    if any(n == "archive_format" or n.endswith("/archive_format") for n in names) or any(
        "/models/" in f"/{n}" and n.endswith(".json") for n in names
    ):
        details["weights"] = sum(1 for n in names if "/data/weights/" in f"/{n}")
        return "pytorch-pt2", details
    if not pkl:
        return None
    details["storages"] = storages
    if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
        return "torchscript", details
    return "pytorch-zip", details


class TorchZipDetector:
    name = "torch-zip"
    first_bytes = b"P"

    def detect(self, ctx: FileContext) -> Finding | None:
        zd = central_directory(ctx)
        if zd is None:
            return None
        classified = _classify(zd)
        if classified is None:
            return None
        fmt, details = classified
        category, evidence = Category.MODEL_WEIGHTS, f"{fmt}-members"
        if fmt == "pytorch-zip":
            entry = next(e for e in zd.entries if e.name.endswith("/data.pkl"))
            head = read_stored(ctx, entry, PICKLE_PEEK) or b""
            if any(m in head for m in OPTIMIZER_MARKERS):
                category, evidence = Category.TRAINING_CHECKPOINT, "pytorch-zip:optimizer-state"
            elif any(m in head for m in LORA_MARKERS):
                category, evidence = Category.ADAPTER, "pytorch-zip:lora-keys"
        return Finding(category, fmt, evidence, details)


DETECTORS = [TorchZipDetector()]
