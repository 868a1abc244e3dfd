"""Certificate PDFs checked with independent tools: poppler's pdfsig, pdftoppm and pdftotext.

Needs the Debian packages poppler-utils and zbar-tools (zbarimg); only the end-to-end test needs root (a loop device).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.certify import issue, read_bytes, state_with_keys


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} missing: apt-get install poppler-utils zbar-tools"
    return path


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    base = tmp_path_factory.mktemp("syspdf")
    state = state_with_keys(str(base / "state"))
    return issue(state, str(base / "out")), issue(state, str(base / "out"), "erase_failed.json")


def test_pdfsig_reports_valid_signature_over_whole_document(issued):
    for doc in issued:
        out = subprocess.run([tool("pdfsig"), doc.pdf_path], capture_output=True, text=True).stdout
        assert "Signature is Valid" in out, out
        assert "Total document signed" in out, out


def test_pdfsig_reports_digest_mismatch_after_a_flipped_byte(issued, tmp_path):
    doc = issued[0]
    data = bytearray(read_bytes(doc.pdf_path))
    data[len(data) // 4] ^= 0x01  # inside the first signed range
    copy = tmp_path / "flipped.pdf"
    copy.write_bytes(bytes(data))
    out = subprocess.run([tool("pdfsig"), str(copy)], capture_output=True, text=True).stdout
    assert "Signature is Valid" not in out


def test_pdf_renders_and_text_holds_serial_method_outcome(issued, tmp_path):
    cert, failure = issued
    subprocess.run([tool("pdftoppm"), "-png", "-r", "50", cert.pdf_path, str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000
    text = subprocess.run([tool("pdftotext"), "-layout", cert.pdf_path, "-"], capture_output=True, text=True).stdout
    assert "Certificate of Sanitization" in text
    assert "S64HNE0R123456" in text
    assert "NVMe Sanitize, Crypto Erase" in text
    assert "SANITIZED AND VERIFIED" in text and "PASSED" in text
    assert cert.certificate_id in text
    failed = subprocess.run([tool("pdftotext"), failure.pdf_path, "-"], capture_output=True, text=True).stdout
    assert "FAILURE REPORT" in failed and "NOT A CERTIFICATE OF SANITIZATION" in failed
    assert "Certificate of Sanitization" not in failed
    assert "WS20ABCD" in failed and "Overwrite (host writes)" in failed and "SANITIZATION FAILED" in failed


def test_pdf_attachments_are_the_signed_json_and_signature(issued, tmp_path):
    cert = issued[0]
    listing = subprocess.run([tool("pdfdetach"), "-list", cert.pdf_path], capture_output=True, text=True).stdout
    assert "certificate.json" in listing and "certificate.json.sig" in listing
    subprocess.run([tool("pdfdetach"), "-saveall", "-o", str(tmp_path), cert.pdf_path], check=True)
    assert (tmp_path / "certificate.json").read_bytes() == read_bytes(cert.json_path)
    assert (tmp_path / "certificate.json.sig").read_bytes() == read_bytes(cert.sig_path)


def test_qr_code_scans_to_certificate_id_and_json_hash(issued, tmp_path):
    """A real QR decoder (zbarimg, Debian package zbar-tools) reads what verify expects."""
    cert = issued[0]
    subprocess.run([tool("pdftoppm"), "-png", "-r", "150", cert.pdf_path, str(tmp_path / "qr")], check=True)
    page = next(tmp_path.glob("qr*.png"))
    scanned = subprocess.run([tool("zbarimg"), "--raw", "-q", str(page)], capture_output=True, text=True)
    assert scanned.stdout.strip() == f"sanitize.certificate/1;id={cert.certificate_id};sha256={cert.json_sha256}"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sanitize", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.root
def test_real_erase_result_is_certified_and_verifies_offline(lab, state_dir, tmp_path):
    """The erase engine's own result on a loop device → cert issue → every independent check."""
    dev = lab.loop("8M")
    erase = _cli("erase", dev, "--verify", "full", "--confirm", os.path.basename(dev), "--json")
    assert erase.returncode == 0, erase.stderr
    result_file = tmp_path / "result.json"
    result_file.write_text(erase.stdout)
    assert _cli("keys", "init", "--org", "Example Corp").returncode == 0
    issued = _cli("cert", "issue", str(result_file), "--output-dir", str(tmp_path / "out"), "--json")
    assert issued.returncode == 0, issued.stderr
    out = json.loads(issued.stdout)
    assert out["kind"] == "certificate"
    verify = _cli("cert", "verify", out["pdf"])
    assert verify.returncode == 0 and verify.stdout.startswith("VALID CERTIFICATE"), verify.stderr
    assert "Signature is Valid" in subprocess.run([tool("pdfsig"), out["pdf"]], capture_output=True, text=True).stdout
    pub = subprocess.run(
        ["openssl", "x509", "-in", out["signer"], "-pubkey", "-noout"], capture_output=True, check=True
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    check = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            out["signature"],
            out["json"],
        ],
        capture_output=True,
        text=True,
    )
    assert "Verified OK" in check.stdout
    doc = json.loads(read_bytes(out["json"]))
    assert doc["sanitization"]["method"] == "overwrite" and doc["verification"]["coverage"] == 1.0
    assert doc["device"]["path"] == dev
    assert _cli("archive", "verify").returncode == 0
