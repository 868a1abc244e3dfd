"""`sanitize cert` exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from sanitize.certify import keys
from tests.support.certify import DATA, issue, read_bytes, read_text, recorded_file, run_cli, state_with_keys


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    state = state_with_keys(str(base / "state"))
    return state, issue(state, str(base / "out"))


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sanitize: error: ")
    return lines[0]


def test_issue_certificate_exit_0_and_files(setup, tmp_path):
    state, _ = setup
    result = run_cli(
        state,
        "cert",
        "issue",
        recorded_file(state),
        "--output-dir",
        str(tmp_path),
        "--json",
        "--operator-name",
        "Jane Doe",
        "--property-number",
        "ASSET-9",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["kind"] == "certificate"
    doc = json.loads(read_bytes(out["json"]))
    assert doc["performed_by"]["name"] == "Jane Doe" and doc["device"]["property_number"] == "ASSET-9"
    assert run_cli(state, "cert", "verify", out["pdf"]).exit_code == 0


def test_issue_failure_report_exit_7(setup, tmp_path):
    state, _ = setup
    result = run_cli(state, "cert", "issue", recorded_file(state, "erase_failed.json"), "--output-dir", str(tmp_path))
    assert result.exit_code == 7
    assert "FAILURE REPORT issued, not a certificate" in one_line_error(result)
    assert "failure-report" in result.stdout
    pdfs = list(tmp_path.glob("*.pdf"))
    assert pdfs and all(p.name.startswith("failure-report-") for p in pdfs)


def test_issue_refuses_verified_without_passed_verification(setup, tmp_path):
    state, _ = setup
    result_doc = json.loads(read_text(f"{DATA}/erase_verified.json"))
    result_doc["verification"]["outcome"] = "skipped"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result_doc))
    result = run_cli(state, "cert", "issue", str(path), "--output-dir", str(tmp_path))
    assert result.exit_code == 4
    one_line_error(result)


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (None, "no such"),
        (b"not json at all", "not valid JSON"),
        (b'{"schema": "sanitize.plan/1"}', "schema"),
        (b"[1, 2]", "schema"),
        ("fifo", "not a regular file"),
        ("directory", "is a directory"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    ],
)
def test_issue_bad_inputs_exit_3(setup, tmp_path, content, expect):
    state, _ = setup
    path = tmp_path / "r.json"
    if content == "fifo":
        os.mkfifo(path)
    elif content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    result = run_cli(state, "cert", "issue", str(path), "--output-dir", str(tmp_path))
    assert result.exit_code == 3
    assert expect in one_line_error(result)


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        ("missing", "no such file"),
        ("nonjson", "not a PDF or JSON"),
        ("badjson", "not valid JSON"),
        ("schema", "schema"),
        ("truncated", "truncated"),
        ("deep", "nested too deeply"),
        ("deep-summary", "nested too deeply"),
        ("fifo", "not a regular file"),
        ("directory", "is a directory"),
    ],
)
def test_verify_bad_inputs_exit_3(setup, tmp_path, make, expect):
    state, doc = setup
    path = tmp_path / "f.pdf"
    if make == "nonjson":
        path.write_bytes(b"hello")
    elif make == "badjson":
        path.write_bytes(b"{nope")
    elif make == "schema":
        path.write_bytes(b'{"schema": "sanitize.erase/1"}')
    elif make == "fifo":
        os.mkfifo(path)  # no writer: reading it would hang the command
    elif make == "directory":
        path.mkdir()
    elif make == "deep":
        path.write_bytes(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    elif make == "deep-summary":
        path.write_bytes(b'{"schema": "sanitize.host-summary/1", "a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    elif make == "truncated":
        data = read_bytes(doc.pdf_path)
        path.write_bytes(data[: len(data) // 3])
    result = run_cli(state, "cert", "verify", str(path))
    assert result.exit_code == 3, result.output
    assert expect in one_line_error(result)


def test_verify_json_output_and_trust(setup, tmp_path):
    state, doc = setup
    result = run_cli(state, "cert", "verify", doc.pdf_path, "--json", "--trust", keys.cert_path(state))
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["valid"] is True and out["kind"] == "certificate" and out["certificate_id"] == doc.certificate_id


def test_verify_untrusted_exit_9_one_line(setup, tmp_path):
    _, doc = setup
    for name in ("json", "json.sig", "pdf"):
        shutil.copy(
            getattr(doc, {"json": "json_path", "json.sig": "sig_path", "pdf": "pdf_path"}[name]), tmp_path / f"c.{name}"
        )
    shutil.copy(doc.signer_path, tmp_path / "signer.pem")
    from sanitize.state import StateDir

    nobody = StateDir(str(tmp_path / "nostate"))
    for target in ("c.json", "c.pdf"):
        result = run_cli(nobody, "cert", "verify", str(tmp_path / target))
        assert result.exit_code == 9
        assert "signer not trusted — pass --trust" in one_line_error(result)


def test_verify_tampered_json_exit_9(setup, tmp_path):
    state, doc = setup
    data = json.loads(read_bytes(doc.json_path))
    data["verification"]["coverage"] = 1.0
    from sanitize.certify.canonical import canonical_bytes

    (tmp_path / "c.json").write_bytes(canonical_bytes(data))
    shutil.copy(doc.sig_path, tmp_path / "c.json.sig")
    result = run_cli(state, "cert", "verify", str(tmp_path / "c.json"))
    assert result.exit_code == 9
    assert "signature does not verify" in one_line_error(result)


def test_show_prints_fields(setup):
    state, doc = setup
    for path in (doc.json_path, doc.pdf_path):
        result = run_cli(state, "cert", "show", path)
        assert result.exit_code == 0
        assert "S64HNE0R123456" in result.stdout and "NVMe Sanitize, Crypto Erase" in result.stdout
    as_json = run_cli(state, "cert", "show", doc.pdf_path, "--json")
    assert json.loads(as_json.stdout)["certificate_id"] == doc.certificate_id


def test_show_escapes_control_characters(setup, tmp_path):
    state, doc = setup
    edited = json.loads(read_text(doc.json_path))
    edited["device"]["model"] = "X\x1b[2J\x07"
    path = tmp_path / "c.json"
    path.write_text(json.dumps(edited))
    result = run_cli(state, "cert", "show", str(path))
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "X\\x1b[2J\\x07" in result.stdout


@pytest.mark.parametrize("command", [("cert", "show"), ("cert", "show", "--json"), ("cert", "verify")])
def test_unpaired_surrogate_escape_is_a_one_line_bad_input(setup, tmp_path, command):
    state, doc = setup
    text = read_text(doc.json_path)
    path = tmp_path / "c.json"
    path.write_text(text.replace('"certificate_id":"', '"certificate_id":"\\udc80', 1))
    assert "\\udc80" in path.read_text()
    result = run_cli(state, *command, str(path))
    assert result.exit_code == 3
    assert "unpaired surrogate" in one_line_error(result)


def test_paired_surrogate_escapes_still_parse():
    from sanitize.certify.canonical import parse_json_bytes

    assert parse_json_bytes(b'{"a": "\\ud83d\\ude00"}', what="t") == {"a": "\U0001f600"}


def test_verify_damaged_signature_dictionary_is_one_line(setup, tmp_path):
    state, doc = setup
    data = read_bytes(doc.pdf_path)
    damaged = data.replace(b"/ETSI.CAdES.detached", b"/ETSI.CAdES.oetached")
    assert damaged != data
    path = tmp_path / "damaged.pdf"
    path.write_bytes(damaged)
    result = run_cli(state, "cert", "verify", str(path))
    assert result.exit_code == 9
    one_line_error(result)
