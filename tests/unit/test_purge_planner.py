"""The planner's choice per device class, its refusals and its explanations."""

from __future__ import annotations

from sanitize.inventory.model import DeviceTree
from sanitize.purge.planner import plan_device
from sanitize.report.plan import PurgePlanReport
from tests.support.fake_drives import FakeAta, FakeDrives, FakeNvme, FakeScsi, fixture
from tests.unit.purge_support import data_file, device, host_for, planning


def plan_nvme(tmp_path, id_ctrl, others=()):
    ns = data_file(tmp_path / "nvme0n1")
    ctrl = str(tmp_path / "nvme0")
    drives = FakeDrives()
    drives.add(FakeNvme(ctrl, fixture(id_ctrl), data=[ns]))
    dev = device(ns, media="nvme", transport="nvme", controller=ctrl)
    tree = DeviceTree(
        (
            dev,
            *(
                device(str(tmp_path / name), media="nvme", transport="nvme", controller=ctrl, **kw)
                for name, kw in others
            ),
        )
    )
    return plan_device(planning(host_for(drives), tree), dev), drives


def plan_ata(tmp_path, ident, media="ssd", **kw):
    path = data_file(tmp_path / "sda")
    drives = FakeDrives()
    drives.add(FakeAta(path, fixture(ident), data=path, **kw))
    dev = device(path, media=media)
    return plan_device(planning(host_for(drives), DeviceTree((dev,))), dev), drives


def test_nvme_sanitize_crypto_first(tmp_path):
    result, drives = plan_nvme(tmp_path, "nvme-id-ctrl__sn730-sanicap-crypto-block.json")
    assert result.status == "ok" and result.plan and result.plan.method == "nvme-sanitize-crypto"
    doc = result.to_dict()
    assert doc["nist_level"] == "purge"
    assert ["nvme", "sanitize", str(tmp_path / "nvme0"), "--sanact=4", "--ause"] in doc["argv"]
    available = [a["method"] for a in doc["alternatives"] if a["available"]]
    assert available[:2] == ["nvme-sanitize-block", "nvme-format-crypto"]
    assert not [c for c in drives.calls if c[1] in ("sanitize", "format")]  # planning never erases
    assert doc["standard"] == {
        "nist": "NIST SP 800-88 Rev. 2",
        "nist_method": "Purge",
        "ieee2883": "IEEE 2883-2022",
        "technique": "cryptographic erase",
        "interface_command": "NVMe Sanitize, Crypto Erase action (SANACT 100b)",
    }


def test_every_method_has_its_ieee_2883_technique():
    from sanitize.methods import all_methods
    from sanitize.purge.levels import TECHNIQUES, standard_line

    assert set(all_methods().names()) == set(TECHNIQUES)
    assert standard_line("overwrite", "clear") == (
        "NIST SP 800-88 Rev. 2 Clear; IEEE 2883-2022 overwrite (host WRITE commands to every user-addressable sector)"
    )


def test_nvme_without_sanitize_uses_format_crypto_when_fna_allows(tmp_path):
    result, _ = plan_nvme(tmp_path, "nvme-id-ctrl__980pro-no-sanitize-format-crypto.json")
    assert result.plan and result.plan.method == "nvme-format-crypto" and result.plan.nist_level == "purge"
    assert "--ses=2" in result.to_dict()["argv"][0]


def test_qemu_nvme_gets_format_user_as_clear_and_says_why_not_crypto(tmp_path):
    result, _ = plan_nvme(tmp_path, "nvme-id-ctrl__qemu-emulated.json")
    assert result.plan and result.plan.method == "nvme-format-user" and result.plan.nist_level == "clear"
    why_not = {a["method"]: a.get("why_not", "") for a in result.alternatives}
    assert "FNA does not advertise" in why_not["nvme-format-crypto"]
    assert "does not advertise crypto sanitize" in why_not["nvme-sanitize-crypto"]


def test_nvme_refused_when_another_namespace_is_mounted(tmp_path):
    # Format applies to all namespaces (FNA bit 0) and sanitize is unknown: nothing per-namespace is left.
    result, _ = plan_nvme(
        tmp_path, "nvme-id-ctrl-H__micron2200-old-cli-no-sanicap.txt", others=[("nvme0n2", {"mountpoints": ("/data",)})]
    )
    assert result.status == "refused" and result.plan is None
    assert "nvme0n2" in (result.refused or "") and "every namespace" in (result.refused or "")


def test_nvme_sanitize_refused_for_busy_sibling_falls_back_to_per_namespace_crypto_format(tmp_path):
    result, _ = plan_nvme(
        tmp_path, "nvme-id-ctrl__sn730-sanicap-crypto-block.json", others=[("nvme0n2", {"mountpoints": ("/data",)})]
    )
    assert result.plan and result.plan.method == "nvme-format-crypto"
    assert any("preferred nvme-sanitize-crypto refused" in n and "nvme0n2" in n for n in result.plan.notes)


def test_sata_ssd_prefers_sanitize_crypto_even_when_security_frozen(tmp_path):
    result, _ = plan_ata(tmp_path, "hdparm-I__x600-ssd-sed-sanitize-crypto-block-frozen.txt", frozen=True)
    assert result.status == "ok" and result.plan and result.plan.method == "ata-sanitize-crypto"
    assert result.capabilities and result.capabilities.self_encrypting


def test_sata_ssd_without_sanitize_frozen_gets_clear_and_instructions(tmp_path):
    result, _ = plan_ata(tmp_path, "hdparm-I__545s-ssd-security-frozen-no-sanitize.txt", frozen=True)
    assert result.plan and result.plan.method == "ata-secure-erase-enhanced"
    assert result.plan.nist_level == "clear"
    assert any("only Clear on flash" in n for n in result.plan.notes)
    assert result.status == "blocked" and "rtcwake -m mem -s 5" in result.instructions[0]


def test_hdd_gets_sanitize_overwrite_as_purge(tmp_path):
    result, _ = plan_ata(tmp_path, "hdparm-I__wd80-hdd-sanitize-overwrite-frozen.txt", media="hdd", frozen=True)
    assert result.plan and result.plan.method == "ata-sanitize-overwrite" and result.plan.nist_level == "purge"
    assert result.status == "ok"


def test_hdd_enhanced_security_erase_is_purge(tmp_path):
    result, _ = plan_ata(tmp_path, "hdparm-I__850evo-ssd-sed-security-notfrozen.txt", media="hdd")
    assert result.plan and result.plan.method == "ata-secure-erase-enhanced" and result.plan.nist_level == "purge"


def test_hpa_shown_in_plan(tmp_path):
    result, _ = plan_ata(
        tmp_path, "hdparm-I__wd80-hdd-sanitize-overwrite-frozen.txt", media="hdd", hpa=(15628000000, 15628053168)
    )
    assert result.plan
    argvs = result.to_dict()["argv"]
    assert ["hdparm", "--yes-i-know-what-i-am-doing", "-N", "p15628053168", result.device.path] in argvs


def test_scsi_ssd_sanitize_crypto(tmp_path):
    path = data_file(tmp_path / "sdb")
    drives = FakeDrives()
    drives.add(FakeScsi(path, fixture("sg_opcodes__sas-ssd-sanitize-synthesized.txt"), data=path))
    dev = device(path, transport="sas")
    result = plan_device(planning(host_for(drives), DeviceTree((dev,))), dev)
    assert result.plan and result.plan.method == "scsi-sanitize-crypto"


def test_protected_device_refused_with_reason(tmp_path):
    path = data_file(tmp_path / "sda")
    dev = device(path, protected=True, protected_reasons=("holds the running root filesystem (/)",))
    result = plan_device(planning(host_for(FakeDrives()), DeviceTree((dev,))), dev)
    assert result.status == "refused" and "running root filesystem" in (result.refused or "")
    doc = PurgePlanReport([result]).document()
    assert doc["schema"] == "sanitize.purge-plan/1" and doc["devices"][0]["status"] == "refused"


def test_virtual_disk_falls_back_to_overwrite_clear(tmp_path):
    path = data_file(tmp_path / "vdb")
    dev = device(path, media="virtual", transport="virtio")
    result = plan_device(planning(host_for(FakeDrives()), DeviceTree((dev,))), dev)
    assert result.capabilities and result.capabilities.interface == "other"
    if result.plan is not None:  # overwrite's own checks may refuse a regular file
        assert result.plan.method == "overwrite" and result.plan.nist_level == "clear"


def test_human_plan_output_shows_commands_blockers_and_alternatives(tmp_path):
    result, _ = plan_ata(tmp_path, "hdparm-I__545s-ssd-security-frozen-no-sanitize.txt", frozen=True)
    text = PurgePlanReport([result]).text()
    assert "ata-secure-erase-enhanced, NIST clear [BLOCKED]" in text
    assert "hdparm --user-master u --security-erase-enhanced <temporary-password>" in text
    assert "to unblock: " in text and "rtcwake" in text
    assert "not possible: ata-sanitize-crypto" in text
    assert "expected duration: about 120 s" in text
    assert "standard: NIST SP 800-88 Rev. 2 Clear; IEEE 2883-2022 secure erase (ATA SECURITY ERASE UNIT" in text
