"""A whole AI server as a decommission run sees it, without a machine: for the report's tests.

nvme0n1 (1 TiB, GPT): p1 EFI vfat mounted at /boot/efi; p2 LUKS -> dm-0 ext4 / (the running
system); p3 LVM PV -> dm-1 "models" ext4 (weights) and dm-2 "rag" xfs (a vector store, not
mounted); free space at the end. sdb (4 TiB HDD, whole-disk ext4, not mounted): the forgotten
cache volume with chats and embeddings. sdc1 + sdd1: md0 RAID1, ext4, nothing found.
loop7: a volume whose file names try to inject markup into the report.
"""

from __future__ import annotations

from sanitize.decommission import LIVE_MEDIUM, Blocked, Decommission
from sanitize.erase import EraseOptions, Plan
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.volumes import FindingGroup, TopFinding, VolumeReport
from tests.support.devices import make_device

GiB = 1 << 30
TiB = 1 << 40
HOSTILE = '<script>alert("x")</script><img src="http://example.invalid/x.png">'


def dev(name: str, size: int, **kw: object) -> Device:
    fields: dict[str, object] = {"size_bytes": size, "serial": None, "model": None, "media_type": "virtual"}
    fields.update(kw)
    return make_device(f"/dev/{name}", **fields)


def devices() -> tuple[Device, ...]:
    root_reason = "holds the running root filesystem (/)"
    return (
        dev(
            "nvme0n1",
            TiB,
            model="Samsung SSD 990 PRO 1TB",
            serial="S6Z1NJ0W123456",
            media_type="nvme",
            transport="nvme",
            pttype="gpt",
            children=("/dev/nvme0n1p1", "/dev/nvme0n1p2", "/dev/nvme0n1p3"),
            protected=True,
            protected_reasons=(f"contains nvme0n1p2: {root_reason}",),
            links=("/dev/disk/by-id/nvme-Samsung_SSD_990_PRO_1TB_S6Z1NJ0W123456",),
        ),
        dev(
            "nvme0n1p1",
            512 << 20,
            type="part",
            parent="/dev/nvme0n1",
            start_bytes=1 << 20,
            fstype="vfat",
            mountpoints=("/boot/efi",),
            protected=True,
            protected_reasons=("mounted at /boot/efi",),
        ),
        dev(
            "nvme0n1p2",
            400 * GiB,
            type="part",
            parent="/dev/nvme0n1",
            start_bytes=513 << 20,
            fstype="crypto_LUKS",
            holders=("/dev/dm-0",),
            children=("/dev/dm-0",),
            protected=True,
            protected_reasons=("held open by dm-0",),
        ),
        dev(
            "dm-0",
            400 * GiB - (16 << 20),
            type="crypt",
            fstype="ext4",
            slaves=("/dev/nvme0n1p2",),
            mountpoints=("/",),
            protected=True,
            protected_reasons=(root_reason,),
        ),
        dev(
            "nvme0n1p3",
            500 * GiB,
            type="part",
            parent="/dev/nvme0n1",
            start_bytes=(513 << 20) + 400 * GiB,
            fstype="LVM2_member",
            holders=("/dev/dm-1", "/dev/dm-2"),
            children=("/dev/dm-1", "/dev/dm-2"),
        ),
        dev("dm-1", 300 * GiB, type="lvm", fstype="ext4", label="models", slaves=("/dev/nvme0n1p3",)),
        dev("dm-2", 120 * GiB, type="lvm", fstype="xfs", label="rag", slaves=("/dev/nvme0n1p3",)),
        dev(
            "sdb",
            4 * TiB,
            model="WDC WD40EFRX-68N",
            vendor="WDC",
            serial="WD-WCC7K1234567",
            media_type="hdd",
            transport="sata",
            fstype="ext4",
            label="cache",
            links=("/dev/disk/by-id/ata-WDC_WD40EFRX-68N_WD-WCC7K1234567", "/dev/disk/by-path/pci-0000:00:17.0-ata-2"),
        ),
        dev("sdc", 2 * TiB, serial="ZL2ABC01", media_type="hdd", transport="sata", children=("/dev/sdc1",)),
        dev(
            "sdc1",
            2 * TiB - (2 << 20),
            type="part",
            parent="/dev/sdc",
            start_bytes=1 << 20,
            fstype="linux_raid_member",
            holders=("/dev/md0",),
            children=("/dev/md0",),
        ),
        dev("sdd", 2 * TiB, serial="ZL2ABC02", media_type="hdd", transport="sata", children=("/dev/sdd1",)),
        dev(
            "sdd1",
            2 * TiB - (2 << 20),
            type="part",
            parent="/dev/sdd",
            start_bytes=1 << 20,
            fstype="linux_raid_member",
            holders=("/dev/md0",),
            children=("/dev/md0",),
        ),
        dev("md0", 2 * TiB - (4 << 20), type="raid1", fstype="ext4", label="backup", slaves=("/dev/sdc1", "/dev/sdd1")),
        dev("loop7", 64 << 20, type="loop", fstype="ext4", backing_file="/var/tmp/evil.img"),
    )


def volume(
    device: str, fstype: str, mounted_at: str | None, findings: list[tuple[str, str, str, int, int, bool]]
) -> VolumeReport:
    """A scanned volume with findings (category, format, path, size, records, world-readable)."""
    report = VolumeReport(device, device.removeprefix("/dev/"), fstype, mounted_at, scanned=True, files_seen=5000)
    for category, fmt, path, size, records, world in findings:
        group = report.groups.get((category, fmt))
        if group is None:
            group = report.groups[(category, fmt)] = FindingGroup(category, fmt)
        group.add(TopFinding(path, size, records, world))
        slot = report.summary.setdefault(category, {"count": 0, "bytes": 0})
        slot["count"] += 1
        slot["bytes"] += size
        report.artifact_count += 1
        report.world_readable += world
    return report


def volumes() -> list[VolumeReport]:
    efi = volume("/dev/nvme0n1p1", "vfat", "/boot/efi", [])
    luks = VolumeReport("/dev/nvme0n1p2", "nvme0n1p2", "crypto_LUKS", None, encrypted="LUKS")
    root = volume(
        "/dev/dm-0",
        "ext4",
        "/",
        [("prompt-log", "jsonl-prompts", "/tmp/llm_outputs/run-0412.jsonl", 18 << 20, 9120, True)],
    )
    root.own_count, root.own_bytes, root.own_trees = 97, 3 << 20, ["/opt/sanitize"]
    pv = VolumeReport(
        "/dev/nvme0n1p3",
        "nvme0n1p3",
        "LVM2_member",
        None,
        note="LVM physical volume; its contents are reported on the volume built on it",
    )
    models = volume(
        "/dev/dm-1",
        "ext4",
        None,
        [("model-weights", "gguf", f"/ollama/models/blobs/sha256-{i:064x}", (4 + i) * GiB, 0, False) for i in range(7)]
        + [("adapter", "safetensors", "/finetune/lora/adapter_model.safetensors", 160 << 20, 0, False)],
    )
    rag = volume(
        "/dev/dm-2",
        "xfs",
        None,
        [("vector-store", "chroma", "/chroma/chroma.sqlite3", 2 * GiB, 1_250_000, False)],
    )
    cache = volume(
        "/dev/sdb",
        "ext4",
        None,
        [
            ("vector-store", "sqlite-embeddings", "/rag/privileged-memos.sqlite", 880 << 20, 412_000, True),
            ("conversation", "open-webui", "/open-webui/webui.db", 96 << 20, 0, True),
            ("inference-cache", "llama.cpp-prompt-cache", "/cache/prompt-cache.bin", 3 * GiB, 0, False),
        ],
    )
    members = [
        VolumeReport(
            f"/dev/{n}",
            n,
            "linux_raid_member",
            None,
            note="md RAID member; its contents are reported on the volume built on it",
        )
        for n in ("sdc1", "sdd1")
    ]
    backup = volume("/dev/md0", "ext4", None, [])
    evil = volume("/dev/loop7", "ext4", None, [("model-weights", "gguf", f"/{HOSTILE}.gguf", 4096, 0, True)])
    return [efi, luks, root, pv, models, rag, cache, *members, backup, evil]


def decommission() -> Decommission:
    tree = DeviceTree(devices())
    planned = [tree.get(n) for n in ("/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/loop7")]
    plans = [
        Plan(d, "overwrite", "clear", (), (), (), 3600.0, "auto: no firmware purge", EraseOptions())
        for d in planned
        if d is not None
    ]
    nvme = tree.get("/dev/nvme0n1")
    assert nvme is not None
    blocked = [Blocked(nvme, "protected: " + "; ".join(nvme.protected_reasons), LIVE_MEDIUM)]
    host = {
        "hostname": "gpu-07.example.org",
        "machine_id": "0123456789abcdef0123456789abcdef",
        "system_vendor": "Supermicro",
        "product_name": "SYS-421GE-TNRT",
        "product_serial": "S4ND0X12345",
        "product_uuid": "00000000-0000-4000-8000-0000000000aa",
    }
    return Decommission(host=host, tree=tree, volumes=volumes(), plans=plans, blocked=blocked, excluded=[])
