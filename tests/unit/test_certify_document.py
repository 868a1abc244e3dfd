"""Certificate and failure-report documents built from `sanitize.erase/1` results."""

from __future__ import annotations

import json
import math

import pytest

from sanitize.certify.canonical import canonical_bytes, sha256_hex
from sanitize.certify.config import CertConfig, parse_config
from sanitize.certify.document import (
    CERT_SCHEMA,
    CERT_TITLE,
    FAILURE_SCHEMA,
    build_certificate,
    build_document,
    summarize_artifacts,
)
from sanitize.errors import BadInput, Refused
from tests.support.certify import ARTIFACTS, OPERATOR, erase_result


def test_certificate_carries_nist_fields():
    result = erase_result()
    config = CertConfig(
        property_numbers={"S64HNE0R123456": "ASSET-00417"},
        post_sanitization_destination="Reuse",
        pre_sanitization_confidentiality="Confidential",
    )
    doc = build_document(result, config=config, operator=OPERATOR, artifacts_before=ARTIFACTS)
    assert doc["schema"] == CERT_SCHEMA and doc["title"] == CERT_TITLE
    dev = doc["device"]
    assert dev["manufacturer"] == "Samsung"
    assert dev["serial"] == "S64HNE0R123456" and dev["property_number"] == "ASSET-00417"
    assert dev["wwn"] and dev["firmware"] == "GDC5602Q" and dev["size_bytes"] == 3840755982336
    assert dev["media_type"] == "ssd" and dev["interface"] == "nvme"
    assert doc["media_source"]["hostname"] == "gpu-node-17"
    assert doc["media_source"]["product_serial"] == "S9123456X1"
    assert doc["pre_sanitization_confidentiality"] == "Confidential"
    assert doc["post_sanitization_destination"] == "Reuse"
    san = doc["sanitization"]
    assert san["nist_level"] == "purge" and san["method_family"] == "Cryptographic Erase"
    assert san["method_details"]["commands"][0]["argv"][:2] == ["nvme", "sanitize"]
    assert doc["verification"]["outcome"] == "passed" and doc["verification"]["coverage"] == 0.1
    assert doc["performed_by"]["name"] == "Jane Doe"
    assert set(doc["validated_by"]) >= {"name", "title", "organization", "location", "contact", "date"}
    assert doc["notes"] and doc["started_at"] < doc["finished_at"]
    assert doc["result_sha256"] == sha256_hex(canonical_bytes(result))
    assert doc["artifacts_before"]["total_count"] == 15


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "failed"},
        {"status": "interrupted"},
        {"verification": {"method": "none", "coverage": 0, "outcome": "skipped"}},
    ],
)
def test_no_certificate_unless_verified_and_passed(changes):
    with pytest.raises(Refused):
        build_certificate(erase_result(**changes))


def test_verified_but_not_passed_is_refused_not_reported():
    with pytest.raises(Refused, match="outcome"):
        build_document(erase_result(verification={"method": "none", "coverage": 0, "outcome": "skipped"}))


@pytest.mark.parametrize("status", ["failed", "interrupted", "unverified"])
def test_failures_give_failure_reports_never_titled_certificate(status):
    doc = build_document(erase_result("erase_failed.json", status=status))
    assert doc["schema"] == FAILURE_SCHEMA
    assert doc["title"].startswith("FAILURE REPORT")
    assert "NOT A CERTIFICATE" in doc["title"]
    assert doc["title"] != CERT_TITLE
    assert doc["errors_total"] == 3 and doc["errors"][0]["error"] == "EIO"
    assert doc["device"]["manufacturer"] == "Seagate"  # vendor "ATA" resolved from the model


def test_artifact_summary_keeps_counts_and_bytes_only():
    findings = [
        {"category": "prompts", "size": 10, "path": "/home/u/chat.db", "preview": "SECRET PROMPT"},
        {"category": "prompts", "size": 5, "text": "another secret"},
        {"category": "model-weights", "bytes": 100, "name": "llama.gguf"},
    ]
    summary = summarize_artifacts(findings)
    assert summary == {
        "categories": {"model-weights": {"bytes": 100, "count": 1}, "prompts": {"bytes": 15, "count": 2}},
        "total_bytes": 115,
        "total_count": 3,
    }
    encoded = json.dumps(summary)
    assert "SECRET" not in encoded and "chat.db" not in encoded and "llama" not in encoded
    nested = summarize_artifacts({"categories": {"x": {"count": 2, "bytes": 9, "paths": ["/secret"]}}})
    assert "secret" not in json.dumps(nested)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(schema="sanitize.plan/1"), "schema"),
        (lambda r: r.pop("device"), "device"),
        (lambda r: r.update(status="done"), "status"),
        (lambda r: r.update(nist_level="destroy"), "nist_level"),
    ],
)
def test_malformed_results_are_bad_input(mutate, message):
    result = erase_result()
    mutate(result)
    with pytest.raises(BadInput, match=message):
        build_document(result)


def test_canonical_bytes_are_sorted_compact_utf8_and_reject_nan():
    data = canonical_bytes({"b": 1, "a": "Zürich", "c": [1, 2]})
    assert data == '{"a":"Zürich","b":1,"c":[1,2]}'.encode()
    with pytest.raises(BadInput):
        canonical_bytes({"x": math.nan})


def test_config_file_parsing():
    config = parse_config(
        """
[operator]
name = "Jane Doe"
title = "Technician"
[validator]
name = "Max Muster"
[certificate]
post_sanitization_destination = "Recycling"
[property_numbers]
"S64HNE0R123456" = "ASSET-1"
""",
        "config.toml",
    )
    assert config.operator.name == "Jane Doe" and config.validator.name == "Max Muster"
    assert config.property_numbers == {"S64HNE0R123456": "ASSET-1"}
    doc = build_document(erase_result(), config=config)
    assert doc["validated_by"]["name"] == "Max Muster"
    assert doc["device"]["property_number"] == "ASSET-1"
    with pytest.raises(BadInput, match="unknown keys"):
        parse_config("[operator]\nphone = '1'\n", "c.toml")
    with pytest.raises(BadInput, match="TOML"):
        parse_config("[operator\n", "c.toml")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(passes="3"), "'passes' has the wrong type"),
        (lambda r: r.update(bytes_written=True), "'bytes_written' has the wrong type"),
        (lambda r: r.update(commands=[{"returncode": 0}]), "commands: field 'argv'"),
        (lambda r: r.update(errors=[{"offset": 0, "error": "EIO"}]), "errors: field 'length'"),
        (lambda r: r["verification"].update(outcome="maybe"), "unknown outcome"),
    ],
)
def test_the_typed_result_refuses_fields_of_the_wrong_type(mutate, message):
    result = erase_result()
    mutate(result)
    with pytest.raises(BadInput, match=message):
        build_document(result)


def test_the_typed_result_reads_back_what_the_engine_wrote():
    from sanitize.enums import NistLevel, Outcome, Status
    from sanitize.erase.result import CommandRecord, EraseResult, ErrorRange, Failure, Verification

    written = EraseResult(
        device={"path": "/dev/loop0", "name": "loop0", "serial": None},
        method="overwrite",
        nist_level=NistLevel.CLEAR,
        passes=1,
        pattern="zeros",
        bytes_written=4096,
        commands=[CommandRecord(["blkdiscard", "/dev/loop0"], 0, 0.25)],
        verification=Verification("full", 1.0, 4096, Outcome.FAILED, 1, {"carve_hits": {"gguf": 1}}),
        errors=[ErrorRange(0, 512, "EIO")],
        failure=Failure("verify", "OSError", "EIO", False),
    )
    written.mark("write", "done")
    written.finish()
    doc = json.loads(json.dumps(written.to_dict()))
    read = EraseResult.from_dict(doc)
    assert read.status == Status.FAILED and read.verification.carve_hits == {"gguf": 1}
    assert read.to_dict() == doc  # nothing lost, nothing added: the tool that wrote it is kept
    # The certificate digests the document as handed in, typed or not.
    assert build_document(read, issued_at="x", certificate_id="c") == build_document(
        doc, issued_at="x", certificate_id="c"
    )


def test_a_sentence_as_verification_details_reaches_the_document():
    result = erase_result()  # the fixture's details is a sentence, as a hand-made result may have
    doc = build_document(result)
    assert doc["verification"]["details"] == result["verification"]["details"]
    assert doc["result_sha256"] == sha256_hex(canonical_bytes(result))
