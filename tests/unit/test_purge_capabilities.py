"""Capability parsers on fixtures written from real drives' outputs (see fixtures/devices/README.md)."""

from __future__ import annotations

from sanitize.purge.capabilities import ata, luks, nvme, scsi, sed
from tests.support.fake_drives import fixture


def test_nvme_1x_json_sanicap_crypto_block():
    c = nvme.parse_id_ctrl(fixture("nvme-id-ctrl__sn730-sanicap-crypto-block.json"), "/dev/nvme0")
    assert c.sanicap == 0x60000003
    assert c.sanitize_crypto and c.sanitize_block and not c.sanitize_overwrite
    assert c.no_dealloc_inhibited and c.nodmmas == 1
    assert c.format_supported and c.security_send_receive and c.format_crypto_erase
    assert not c.format_all_namespaces and not c.crypto_erase_all_namespaces
    assert c.model == "WDC PC SN730 SDBQNTY-256G-1001" and c.notes == ()


def test_nvme_2x_sorted_json_without_sanitize():
    c = nvme.parse_id_ctrl(fixture("nvme-id-ctrl__980pro-no-sanitize-format-crypto.json"))
    assert c.sanicap == 0 and not c.sanitize_any
    assert c.format_crypto_erase and c.format_supported


def test_nvme_compact_json_format_without_security():
    c = nvme.parse_id_ctrl(fixture("nvme-id-ctrl__p5336-compact-no-security.json"))
    assert c.oacs == 94 and c.format_supported and not c.security_send_receive
    assert c.nn == 128


def test_nvme_old_cli_text_has_no_sanicap_line_so_sanitize_is_unknown():
    c = nvme.parse_id_ctrl(fixture("nvme-id-ctrl-H__micron2200-old-cli-no-sanicap.txt"))
    assert c.sanicap is None and not c.sanitize_any
    assert any("sanicap not reported" in n for n in c.notes)
    # decoded "[2:2] : 0x1" lines must not be mistaken for fields; tabs in them are fine
    assert c.fna == 0x7 and c.format_all_namespaces and c.crypto_erase_all_namespaces and c.format_crypto_erase
    assert c.oacs == 0x17 and c.serial == "FIXTURE2200"


def test_nvme_truncated_text_leaves_fna_unknown():
    c = nvme.parse_id_ctrl(fixture("nvme-id-ctrl__kingston-nv2-truncated.txt"))
    assert c.sanicap == 0xA0000002 and c.sanitize_block and not c.sanitize_crypto and c.nodmmas == 2
    assert c.fna is None and not c.format_crypto_erase
    assert any("fna not reported" in n for n in c.notes)


def test_nvme_truncated_json_is_salvaged():
    text = fixture("nvme-id-ctrl__sn730-sanicap-crypto-block.json")
    cut = text[: text.index('"nn"')]
    c = nvme.parse_id_ctrl(cut)
    assert c.sanicap == 0x60000003 and c.fna is None
    assert any("truncated" in n for n in c.notes)


def test_qemu_controller_has_format_but_no_sanitize_or_crypto_format():
    c = nvme.parse_id_ctrl(fixture("nvme-id-ctrl__qemu-emulated.json"))
    assert c.format_supported and not c.sanitize_any and not c.format_crypto_erase


def test_sanitize_log_text_in_progress():
    log = nvme.parse_sanitize_log(fixture("nvme-sanitize-log__660p-block-in-progress.txt"))
    assert log.sprog == 655 and log.in_progress and log.cdw10 == 2
    assert log.estimate_block_s is None  # 0xFFFFFFFF means "no time period reported"
    assert 0.009 < (log.fraction() or 0) < 0.011


def test_sanitize_log_nested_json_success_with_global_erase():
    log = nvme.parse_sanitize_log(fixture("nvme-sanitize-log__success-global-erased.json"))
    assert log.sstat == 0x101 and log.succeeded and log.global_data_erased and log.sprog == 65535
    assert log.estimate_crypto_s == 10 and log.estimate_overwrite_s is None


def test_sanitize_log_status_under_odd_key_and_failure():
    text = '{"nvme1":{"sprog":65535,"sstat":{"global_erased":0,"no_cmplted_passes":0,"Failed":"(3) Failed."}}}'
    log = nvme.parse_sanitize_log(text)
    assert log.failed and not log.succeeded
    assert nvme.parse_sanitize_log('{"nvme0":{"sprog":65535,"sstat":{"status":"(4) ok"}}}').succeeded


def test_hdparm_sed_ssd_with_spaces_instead_of_tabs():
    a = ata.parse_identify(fixture("hdparm-I__x600-ssd-sed-sanitize-crypto-block-frozen.txt"), "/dev/sda")
    assert a.sanitize_crypto and a.sanitize_block and not a.sanitize_overwrite
    assert a.self_encrypting and a.solid_state
    s = a.security
    assert s.supported and not s.enabled and not s.locked and s.frozen and not s.count_expired
    assert s.enhanced_erase and s.erase_minutes == 2 and s.enhanced_erase_minutes == 2
    assert a.sectors == 500118192


def test_hdparm_all_sanitize_commands_with_tabs():
    a = ata.parse_identify(fixture("hdparm-I__5300-ssd-sanitize-all-frozen.txt"))
    assert a.sanitize_crypto and a.sanitize_block and a.sanitize_overwrite and a.has("sanitize_antifreeze")
    assert not a.self_encrypting


def test_hdparm_hdd_overwrite_only_no_enhanced_erase():
    a = ata.parse_identify(fixture("hdparm-I__wd80-hdd-sanitize-overwrite-frozen.txt"))
    assert a.sanitize_overwrite and not a.sanitize_crypto and a.rotation_rpm == 5400 and a.solid_state is False
    assert not a.security.enhanced_erase and a.security.erase_minutes == 832
    assert a.security.enhanced_erase_minutes is None and a.has("hpa_feature") and a.has("dco_feature")


def test_hdparm_not_frozen_and_no_sanitize():
    a = ata.parse_identify(fixture("hdparm-I__850evo-ssd-sed-security-notfrozen.txt"))
    assert not a.security.frozen and a.security.enhanced_erase_minutes == 8 and not a.has("sanitize")


def test_hdparm_without_security_section_means_unsupported():
    a = ata.parse_identify(fixture("hdparm-I__qemu-ide-no-security.txt"))
    assert not a.has_security_section and not a.security.supported
    assert any("not supported" in n for n in a.notes)


def test_hdparm_truncated_output():
    a = ata.parse_identify("/dev/sda:\n\nATA device, with non-removable media\n")
    assert a.model is None and not a.security.supported


def test_hpa_and_dco():
    hpa = ata.parse_hpa(fixture("hdparm-N__hdd-hpa-disabled.txt"))
    assert (hpa.current, hpa.native, hpa.enabled, hpa.hidden_sectors) == (1953525168, 1953525168, False, 0)
    hidden = ata.parse_hpa(fixture("hdparm-N__hdd-hpa-enabled.txt"))
    assert hidden.enabled and hidden.hidden_sectors == 53168
    dco = ata.parse_dco(fixture("hdparm-dco-identify__hdd-real-max.txt"))
    assert dco.real_max_sectors == 15628053168 and dco.checksum_ok


def test_sanitize_status_idle_after_bad_sense_is_failure():
    status = ata.parse_sanitize_status(fixture("hdparm-sanitize-status__mx500-bad-sense-idle.txt"))
    assert status.state == "SD0" and status.bad_sense
    assert not status.succeeded and not status.in_progress


def test_sanitize_status_success_and_progress():
    done = "Sanitize status:\n    State:    SD0 Sanitize Idle\n    Last Sanitize Operation Completed Without Error\n"
    assert ata.parse_sanitize_status(done).succeeded
    busy = ata.parse_sanitize_status("    State:    SD2 Sanitize operation In Process\n    Progress: 0x41c2 (25%)\n")
    assert busy.in_progress and busy.progress == 0x41C2
    assert ata.parse_sanitize_status("    State:    SD1 Sanitize Frozen\n").frozen


def test_scsi_opcodes_inquiry_readcap():
    assert scsi.parse_opcodes(fixture("sg_opcodes__usb-bridge-rsoc-unsupported.txt")) is None
    actions = scsi.parse_opcodes(fixture("sg_opcodes__sas-ssd-sanitize-synthesized.txt"))
    assert actions == {1, 2, 3, 0x1F}
    inq = scsi.parse_inquiry(fixture("sg_inq__sat-ata-ssd.txt"))
    assert inq.is_ata_behind_sat and inq.serial == "FIXTURE0SAT"
    cap = scsi.parse_readcap(fixture("sg_readcap-l__usb-bridge.txt"))
    assert cap.blocks == 2000409264 and cap.block_size == 512 and cap.lbpme is False
    assert scsi.parse_requests_progress("Progress indication: 12.50% done").fraction == 0.125
    assert scsi.parse_requests_progress("No progress indication found, iteration 1").fraction is None


def test_luks_dumps():
    one = luks.parse_dump(fixture("cryptsetup-luksDump__luks1-one-keyslot.txt"))
    assert one.version == 1 and one.active_keyslots == [0] and len(one.keyslots) == 8
    assert one.data_offset == 4096 * 512 and one.keyslots[0].area_offset == 8 * 512
    two = luks.parse_dump(fixture("cryptsetup-luksDump__luks2-two-keyslots.txt"))
    assert two.version == 2 and two.active_keyslots == [0, 1]
    assert two.data_offset == 16777216 and two.header_size == 16777216
    assert two.keyslots[1].area_offset == 290816 and two.keyslots[1].area_length == 258048
    assert luks.parse_dump("garbage").version is None


def test_sedutil():
    info = sed.parse_sedutil_query(fixture("sedutil-cli-query__opal2-locking-enabled.txt"))
    assert info.opal and info.media_encrypt and info.locking_enabled and info.locked is False


def test_controller_and_namespaces_from_sysfs_with_native_multipath(tmp_path):
    from sanitize.hw.linux import LinuxHost

    sys = tmp_path / "sys"
    subsys = sys / "devices/virtual/nvme-subsystem/nvme-subsys0"
    ctrl = sys / "devices/pci0000:00/0000:00:04.0/nvme/nvme0"
    for d in (subsys / "nvme0n1", subsys / "nvme0n2", ctrl / "nvme0c0n1", ctrl / "nvme0c0n2"):
        d.mkdir(parents=True)
    (subsys / "nvme0").symlink_to(ctrl)
    (ctrl / "subsystem").symlink_to(subsys)
    (sys / "class/block").mkdir(parents=True)
    (sys / "class/nvme").mkdir(parents=True)
    (sys / "class/nvme-subsystem").mkdir(parents=True)
    (sys / "class/nvme/nvme0").symlink_to(ctrl)
    (sys / "class/nvme-subsystem/nvme-subsys0").symlink_to(subsys)
    (sys / "class/block/nvme0n1").symlink_to(subsys / "nvme0n1")
    (subsys / "nvme0n1/device").symlink_to(subsys)
    host = LinuxHost(sys_root=str(sys))
    assert nvme.resolve_controller(host, "nvme0n1") == "/dev/nvme0"  # the inventory resolves the subsystem
    assert nvme.resolve_controller(host, "nvme0n1", "/dev/nvme3") == "/dev/nvme3"
    assert nvme.namespaces_of(host, "/dev/nvme0") == ("/dev/nvme0n1", "/dev/nvme0n2")
