"""What a certificate says: enough for an auditor holding only the PDF, and nothing that is not so.

Which physical device (also without a serial), in which host, sanitized how, under which
standard, verified and validated how, by whom; every field from the execution record, in
the tool's units, wrapped rather than cut.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sanitize.certify import pdf
from sanitize.certify.canonical import canonical_bytes
from sanitize.certify.config import CertConfig
from sanitize.certify.document import build_document
from sanitize.certify.issue import build_summary, issue_host_summary
from sanitize.certify.keys import load_signer
from sanitize.certify.signing import sign
from tests.support.certify import OPERATOR, erase_result, issue, recorded_file, run_cli, state_with_keys

LOOP_VOLUMES = {
    "categories": {"vector-store": {"count": 1, "bytes": 622592}, "model-weights": {"count": 1, "bytes": 288}},
    "volumes": [{"device": "/dev/loop0", "fstype": "ext4", "state": "scanned", "files_seen": 2}],
}
ISSUED_AT = "2026-11-27T14:05:00Z"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return state_with_keys(str(tmp_path_factory.mktemp("content") / "state"))


def pdf_of(state: Any, doc: dict[str, Any], path: Path) -> Path:
    json_bytes = canonical_bytes(doc)
    signer = load_signer(state)
    path.write_bytes(pdf.document_pdf(doc, json_bytes, sign(signer, json_bytes), signer))
    return path


def page_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", "-isodates", str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_a_device_without_serial_is_identified_by_path_names_backing_file_and_host(state: Any, tmp_path: Path) -> None:
    result = erase_result("erase_loop_overwrite.json")
    result["device"]["links"] = ["/dev/disk/by-path/platform-loop0"]
    doc = build_document(result, config=CertConfig(property_number="ASSET-0042"), artifacts_before=LOOP_VOLUMES)
    dev = doc["device"]
    assert dev["serial"] is None and dev["property_number"] == "ASSET-0042"
    assert dev["identified_by"].startswith("no serial number reported; device path /dev/loop0")
    assert "/var/lib/sanitize/lab/images/cache.img" in dev["identified_by"]
    assert dev["physical_sector_size"] == 512 and dev["links"] == ["/dev/disk/by-path/platform-loop0"]
    host = doc["media_source"]
    assert host["machine_id_sha256"] and len(host["machine_id_sha256"]) == 64
    text = page_text(pdf_of(state, doc, tmp_path / "loop.pdf"))
    for needle in (
        "/dev/loop0",
        "/var/lib/sanitize/lab/images/cache.img",
        "/dev/disk/by-path/platform-loop0",
        "ASSET-0042",
        "ai-lab-01",
        "5a1c9e2f-7d3b-4c8e-9f10-2b3c4d5e6f70",
        host["machine_id_sha256"],
        "40.0 MiB (41,943,040 bytes)",  # binary units, as the CLI prints them, and the exact bytes
        "512 B / 512 B",
    ):
        assert needle in text, needle
    assert "0c5d2b7e8f9a4b6c8d1e2f3a4b5c6d7e" not in text  # the machine-id itself is not printed
    assert not re.search(r"\b\d+(\.\d)? [kMGT]B\b", text), "decimal units nowhere"


@pytest.mark.parametrize(
    "key", ["S64HNE0R123456", "0xEUI.36344830523012340025384500000001", "/dev/disk/by-id/nvme-X_1", "/dev/nvme1n1"]
)
def test_property_numbers_attach_to_the_device_by_any_of_its_names(key: str) -> None:
    result = erase_result(device=dict(erase_result()["device"], links=["/dev/disk/by-id/nvme-X_1"]))
    if key == "/dev/disk/by-id/nvme-X_1" or key == "/dev/nvme1n1":
        result["device"]["serial"] = None  # names other than the serial must work without one
    if key.startswith("0x"):
        result["device"]["serial"] = None
    doc = build_document(
        result, config=CertConfig(property_numbers={key.lower() if key.startswith("0x") else key: "A-1"})
    )
    assert doc["device"]["property_number"] == "A-1"


def test_cert_issue_property_number_is_never_dropped(state: Any, tmp_path: Path) -> None:
    path = recorded_file(state, "erase_loop_overwrite.json")  # as the erase engine records it
    out = run_cli(state, "cert", "issue", path, "--output-dir", str(tmp_path / "o"), "--property-number", "AX-9")
    assert out.exit_code == 0, out.stderr
    shown = run_cli(state, "cert", "show", next(str(p) for p in (tmp_path / "o").glob("*.json")))
    assert "property number  AX-9" in shown.stdout and "None" not in shown.stdout


def test_cert_issue_twice_on_one_result_is_refused_and_names_the_first(state: Any, tmp_path: Path) -> None:
    path = recorded_file(state, "erase_loop_overwrite.json")
    first = run_cli(state, "cert", "issue", path, "--output-dir", str(tmp_path / "o"), "--json")
    assert first.exit_code == 0, first.stderr
    issued = json.loads(first.stdout)
    again = run_cli(state, "cert", "issue", path, "--output-dir", str(tmp_path / "o2"), "--json")
    assert again.exit_code == 4 and again.stdout == ""
    assert "already issued" in again.stderr and issued["certificate_id"] in again.stderr
    assert issued["pdf"] in again.stderr  # the re-issue points at the first document
    assert not (tmp_path / "o2").exists() or not list((tmp_path / "o2").iterdir())


def test_method_details_come_from_the_execution_record() -> None:
    luks = build_document(erase_result("erase_luks_loop.json"))
    details = luks["sanitization"]["method_details"]
    assert details["commands_run"] == 1
    assert details["description"].startswith("LUKS key slots destroyed with cryptsetup erase")
    assert "1 external command(s) run (cryptsetup)" in details["description"]
    assert "firmware" not in details["description"]
    overwrite = build_document(erase_result("erase_loop_overwrite.json"))["sanitization"]["method_details"]
    assert overwrite["commands_run"] == 0
    assert overwrite["description"] == (
        "1 overwrite pass(es), pattern random, written by sanitize itself (41,943,040 of 41,943,040 bytes written); "
        "no external command run"
    )
    nvme = build_document(erase_result())["sanitization"]["method_details"]["description"]
    assert nvme.startswith("the device's own command: NVMe Sanitize, Crypto Erase action (SANACT 100b)")


def test_standard_and_validation_are_recorded(state: Any, tmp_path: Path) -> None:
    doc = build_document(erase_result("erase_luks_loop.json"))
    assert doc["sanitization"]["standard"]["nist"] == "NIST SP 800-88 Rev. 2"
    assert doc["sanitization"]["standard"]["technique"] == "cryptographic erase"
    val = doc["validation"]
    assert val["technique_completed"] == "keyslots destroyed and header area overwritten"
    assert val["read_back"]["method"] == "full" and val["read_back"]["coverage"] == 1.0
    assert val["carve_check"] == {"coverage": 0.333333, "bytes_read": 8388608, "hits": 0, "kinds": {}}
    text = page_text(pdf_of(state, doc, tmp_path / "luks.pdf"))
    assert "NIST SP 800-88 Rev. 2 media sanitization record" in text
    assert "NIST SP 800-88 Rev. 2; IEEE 2883-2022" in text and "cryptographic erase" in text
    assert "full read-back of 100.0 % of the device (16,777,216 bytes); 0 mismatch(es); PASSED" in text
    assert "33.3 % of the erased device searched" in text and "nothing recognisable found" in text
    assert "Validated by" in text and "sanitize cert countersign" in text
    assert "Rev. 1" not in text


def test_an_encrypted_volume_that_was_not_read_is_not_none_found(state: Any, tmp_path: Path) -> None:
    artifacts = {
        "categories": {},
        "volumes": [{"device": "/dev/loop4", "fstype": "crypto_LUKS", "state": "encrypted", "why": "encrypted (LUKS)"}],
    }
    doc = build_document(erase_result("erase_luks_loop.json"), artifacts_before=artifacts)
    text = page_text(pdf_of(state, doc, tmp_path / "enc.pdf"))
    assert "Not scanned: /dev/loop4 (crypto_LUKS): encrypted (LUKS)." in text
    assert "None found" not in text
    scanned = build_document(
        erase_result("erase_loop_overwrite.json"),
        artifacts_before={"categories": {}, "volumes": [LOOP_VOLUMES["volumes"][0]]},
    )
    assert "None found on the 1 scanned volume(s) (2 files)." in page_text(pdf_of(state, scanned, tmp_path / "s.pdf"))


def test_metadata_names_device_and_result_and_dates_the_issue(state: Any, tmp_path: Path) -> None:
    doc = build_document(erase_result("erase_loop_overwrite.json"), issued_at=ISSUED_AT)
    info = pdf_info(pdf_of(state, doc, tmp_path / "m.pdf"))
    assert info["Title"] == "Certificate of Sanitization — /dev/loop0 on ai-lab-01 — SANITIZED AND VERIFIED"
    created = dt.datetime.fromisoformat(info["CreationDate"].replace("Z", "+00:00"))
    assert created == dt.datetime(2026, 11, 27, 14, 5, tzinfo=dt.UTC)
    failed = build_document(erase_result("erase_failed.json"), issued_at=ISSUED_AT)
    title = pdf_info(pdf_of(state, failed, tmp_path / "f.pdf"))["Title"]
    assert title == "Sanitization FAILURE REPORT — ST4000NM000A-2HZ100 serial WS20ABCD — SANITIZATION FAILED"


def test_long_text_wraps_and_is_never_cut(state: Any, tmp_path: Path) -> None:
    note = "a note that is long " * 30 + "and ends with THE-LAST-WORD"
    notes = [f"note {i}: {note}" for i in range(12)]
    doc = build_document(erase_result("erase_failed.json", notes=notes))
    path = pdf_of(state, doc, tmp_path / "long.pdf")
    text = page_text(path)
    assert text.count("THE-LAST-WORD") == 12 and "…" not in text
    assert int(pdf_info(path)["Pages"]) == 2  # flows onto a continuation page rather than being cut


def test_host_summary_lists_every_device_told_apart(state: Any, tmp_path: Path) -> None:
    loop = erase_result("erase_loop_overwrite.json")
    luks = erase_result("erase_luks_loop.json")
    system = {
        "device": dict(loop["device"], path="/dev/loop5", name="loop5", backing_file="/var/lib/lab/system.img"),
        "why": "protected: mounted at /srv",
        "advice": "stop what uses it and unmount it",
    }
    summary = build_summary([loop, luks], None, [system])
    rows = summary["devices"]
    assert [r["path"] for r in rows] == ["/dev/loop0", "/dev/loop4", "/dev/loop5"]
    assert rows[2]["outcome"] == "not-sanitized" and rows[2]["why"] == "protected: mounted at /srv"
    path = issue_host_summary([loop, luks], state=state, output_dir=str(tmp_path), not_sanitized=[system])
    text = page_text(Path(path))
    for needle in ("/var/lib/sanitize/lab/images/cache.img", "/var/lib/sanitize/lab/images/vault.img", "/dev/loop5"):
        assert needle in text
    assert "NOT SANITIZED" in text and "protected: mounted at /srv" in text
    assert pdf_info(Path(path))["Title"] == "Sanitization summary — ai-lab-01"


def test_cert_show_prints_no_python_none(state: Any, tmp_path: Path) -> None:
    issued = issue(state, str(tmp_path), "erase_loop_overwrite.json")
    out = run_cli(state, "cert", "show", issued.pdf_path)
    assert out.exit_code == 0 and "None" not in out.stdout
    assert "identified by    no serial number reported; device path /dev/loop0" in out.stdout
    assert "standard         NIST SP 800-88 Rev. 2 Clear; IEEE 2883-2022 overwrite" in out.stdout
    assert OPERATOR.name and OPERATOR.name in out.stdout


def test_a_second_person_countersigns_and_verify_checks_it(state: Any, tmp_path: Path) -> None:
    issued = issue(state, str(tmp_path / "out"), "erase_loop_overwrite.json")
    validator = state_with_keys(str(tmp_path / "validator"), org="Example Audit")
    signer_pem = str(tmp_path / "out" / "signer.pem")
    args = ("cert", "countersign", issued.pdf_path, "--trust", signer_pem)
    refused = run_cli(validator, *args)
    assert refused.exit_code == 3 and "--name" in refused.stderr  # who validates must be said
    same_key = run_cli(state, *args, "--name", "Jane Doe")
    assert same_key.exit_code == 4 and "second person" in same_key.stderr
    done = run_cli(validator, *args, "--name", "Max Muster", "--title", "IT Security Officer", "--json")
    assert done.exit_code == 0, done.stderr
    signed = json.loads(done.stdout)
    assert signed["countersignature"]["certificate_sha256"] == issued.json_sha256
    assert signed["countersignature"]["validated_by"]["name"] == "Max Muster"

    verdict = run_cli(state, "cert", "verify", issued.pdf_path, "--json")
    assert verdict.exit_code == 0, verdict.stderr
    (who,) = json.loads(verdict.stdout)["countersigned_by"]
    assert who["name"] == "Max Muster" and who["title"] == "IT Security Officer"
    assert run_cli(state, "cert", "verify", issued.json_path).exit_code == 0  # found next to the JSON too

    # An altered countersignature, or one moved next to another certificate, fails verification.
    other = issue(state, str(tmp_path / "out"), "erase_luks_loop.json")
    moved = Path(other.pdf_path).with_suffix("").as_posix() + ".countersign-00000000"
    for ext in (".json", ".json.sig", ".pem"):
        Path(moved + ext).write_bytes(Path(signed["json"].removesuffix(".json") + ext).read_bytes())
    bad = run_cli(state, "cert", "verify", other.pdf_path)
    assert bad.exit_code == 9 and "countersigns another document" in bad.stderr
    data = Path(signed["json"]).read_bytes().replace(b"Max Muster", b"Max Mustex")
    Path(signed["json"]).write_bytes(data)
    assert run_cli(state, "cert", "verify", issued.pdf_path).exit_code == 9
