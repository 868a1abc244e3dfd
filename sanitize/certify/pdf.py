"""PDF rendering (reportlab) and PAdES signing (pyHanko) of certificates and failure reports.

One A4 page per device: what an auditor needs at a glance, a QR code carrying the certificate
ID and the SHA-256 of the signed JSON, the signed JSON and its detached signature attached as
files, and a PAdES signature over the whole file that common PDF readers display.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from sanitize import TOOL_NAME, __version__
from sanitize.certify import qr
from sanitize.certify.canonical import sha256_hex
from sanitize.certify.document import CERT_SCHEMA
from sanitize.certify.keys import Signer
from sanitize.enums import Status

JSON_ATTACHMENT = "certificate.json"
SIG_ATTACHMENT = "certificate.json.sig"
SIGNER_ATTACHMENT = "signer.pem"
SIGNATURE_FIELD = "SanitizeSignature"
# The banner of a failure report, by the result's status (the words of sanitize.enums).
FAILURE_BANNERS: dict[str, str] = {
    Status.FAILED: "SANITIZATION FAILED",
    Status.INTERRUPTED: "SANITIZATION INTERRUPTED",
    Status.UNVERIFIED: "NOT VERIFIED — NO CERTIFICATE",
}

NAVY = colors.HexColor("#1F2A44")
GREEN = colors.HexColor("#1E7B34")
RED = colors.HexColor("#B00020")
GREY = colors.HexColor("#5F6368")
LIGHT = colors.HexColor("#F1F3F4")
RULE = colors.HexColor("#DADCE0")

PAGE_W, PAGE_H = A4
MARGIN = 16 * mm
HEADER_H = 44 * mm
QR_SIZE = 34 * mm

_LABEL = ParagraphStyle("label", fontName="Helvetica", fontSize=7.5, textColor=GREY, leading=9)
_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=8.5, leading=10.5, alignment=TA_LEFT)
_SECTION = ParagraphStyle("section", fontName="Helvetica-Bold", fontSize=10, textColor=NAVY, leading=12)
_SMALL = ParagraphStyle("small", fontName="Helvetica", fontSize=6.5, textColor=GREY, leading=8)

_MAX_NOTES = 6
_MAX_TEXT = 180


# --- value formatting --------------------------------------------------------------------
def text(value: Any) -> str:
    """Plain text for a cell; '—' for unknown so a blank is never mistaken for a value."""
    if value is None or value == "":
        return "—"
    return str(value)


def size_text(size: Any) -> str:
    if not isinstance(size, int):
        return "—"
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    value, unit = float(size), 0
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    return f"{value:.1f} {units[unit]} ({size:,} bytes)" if unit else f"{size} bytes"


def coverage_text(coverage: Any) -> str:
    return f"{coverage * 100:.1f} %" if isinstance(coverage, int | float) else "—"


def duration_text(start: Any, end: Any) -> str:
    try:
        a = dt.datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        b = dt.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return "—"
    seconds = int((b - a).total_seconds())
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m {seconds % 60:02d}s"


def outcome_text(doc: dict[str, Any]) -> str:
    """The one-word outcome shown in the banner (also checked by verify against the JSON)."""
    if doc.get("schema") == CERT_SCHEMA:
        return "SANITIZED AND VERIFIED"
    return FAILURE_BANNERS.get(str(doc.get("status")), "NOT SANITIZED")


def visible_fields(doc: dict[str, Any]) -> dict[str, str]:
    """Fields drawn as exact strings on the page; verify compares them with the embedded JSON."""
    return {
        "certificate_id": text(doc.get("certificate_id")),
        "serial": text((doc.get("device") or {}).get("serial")),
        "method": text((doc.get("sanitization") or {}).get("method_label")),
        "outcome": outcome_text(doc),
    }


def _clip(value: str, limit: int = _MAX_TEXT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _p(value: Any, style: ParagraphStyle = _BODY) -> Paragraph:
    from xml.sax.saxutils import escape

    return Paragraph(escape(_clip(text(value))), style)


# --- page building blocks ----------------------------------------------------------------
def _kv_table(rows: list[tuple[str, Any]], width: float, *, columns: int = 2) -> Table:
    """Label/value pairs in `columns` column pairs; values that verify checks are plain strings."""
    cells: list[list[Any]] = []
    per_row = columns
    for i in range(0, len(rows), per_row):
        line: list[Any] = []
        for label, value in rows[i : i + per_row]:
            line += [Paragraph(label, _LABEL), value if not isinstance(value, str) else _cell(value)]
        while len(line) < 2 * per_row:
            line += ["", ""]
        cells.append(line)
    label_w = 27 * mm
    value_w = width / per_row - label_w
    table = Table(cells, colWidths=[label_w, value_w] * per_row)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
            ]
        )
    )
    return table


def _cell(value: str) -> Any:
    # Short values stay plain strings; long ones wrap (verify compares whitespace-normalised text).
    return value if len(value) <= 34 else _p(value)


def _section(title: str) -> Paragraph:
    return Paragraph(title.upper(), _SECTION)


def _person_block(title: str, person: dict[str, Any], width: float) -> Table:
    rows = [[Paragraph(title, _SECTION)]]
    for key, label in (
        ("name", "Name"),
        ("title", "Position / title"),
        ("organization", "Organization"),
        ("location", "Location"),
        ("contact", "Phone / contact"),
    ):
        value = person.get(key)
        rows.append([Paragraph(f"<font color='#5F6368' size='7.5'>{label}</font>&nbsp;&nbsp;{_esc(value)}", _BODY)])
    rows.append([Spacer(1, 9 * mm)])
    rows.append([Paragraph("Signature ______________________&nbsp;&nbsp;Date ____________", _BODY)])
    table = Table(rows, colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return table


def _esc(value: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(_clip(text(value), 60)) if value else "<font color='#9AA0A6'>____________________</font>"


def _story(doc: dict[str, Any], width: float) -> list[Any]:
    dev = doc.get("device") or {}
    src = doc.get("media_source") or {}
    san = doc.get("sanitization") or {}
    det = san.get("method_details") or {}
    ver = doc.get("verification") or {}
    fields_ = visible_fields(doc)
    story: list[Any] = []

    story += [_section("Media information"), Spacer(1, 1.5 * mm)]
    story.append(
        _kv_table(
            [
                ("Manufacturer", text(dev.get("manufacturer"))),
                ("Model", text(dev.get("model"))),
                ("Serial number", fields_["serial"]),
                ("WWN", text(dev.get("wwn"))),
                ("Firmware", text(dev.get("firmware"))),
                ("Capacity", size_text(dev.get("size_bytes"))),
                ("Media type", text(dev.get("media_type"))),
                ("Interface", text(dev.get("interface"))),
                ("Property number", text(dev.get("property_number"))),
                ("Confidentiality", text(doc.get("pre_sanitization_confidentiality"))),
                ("Media source", text(src.get("hostname"))),
                ("System", text(" ".join(x for x in (src.get("system_vendor"), src.get("product_name")) if x))),
                ("System serial", text(src.get("product_serial"))),
                ("System UUID", text(src.get("product_uuid"))),
            ],
            width,
        )
    )
    story += [Spacer(1, 3.5 * mm), _section("Sanitization"), Spacer(1, 1.5 * mm)]
    pattern = det.get("pattern")
    passes = det.get("passes")
    details = f"{passes} pass(es), pattern {pattern}" if passes else "device firmware command"
    commands = det.get("commands") or []
    story.append(
        _kv_table(
            [
                ("NIST 800-88 level", text(str(san.get("nist_level") or "").upper() or None)),
                ("Method", fields_["method"]),
                ("Method type", text(san.get("method_family"))),
                ("Method details", f"{details}; {len(commands)} command(s) run"),
                ("Started (UTC)", text(doc.get("started_at"))),
                ("Finished (UTC)", text(doc.get("finished_at"))),
                ("Duration", duration_text(doc.get("started_at"), doc.get("finished_at"))),
                (
                    "Tool used",
                    f"{text((san.get('tool') or {}).get('name'))} {text((san.get('tool') or {}).get('version'))}",
                ),
                ("Destination", text(doc.get("post_sanitization_destination"))),
                (
                    "Bytes written",
                    text(f"{det['bytes_written']:,}" if isinstance(det.get("bytes_written"), int) else None),
                ),
            ],
            width,
        )
    )
    story += [Spacer(1, 3.5 * mm), _section("Verification"), Spacer(1, 1.5 * mm)]
    carve = ver.get("carve_hits")
    carve_text = (
        text(carve) if not isinstance(carve, dict) else ", ".join(f"{k}: {v}" for k, v in sorted(carve.items())) or "0"
    )
    story.append(
        _kv_table(
            [
                ("Verification method", text(ver.get("method"))),
                ("Coverage", coverage_text(ver.get("coverage"))),
                ("Outcome", text(str(ver.get("outcome") or "").upper() or None)),
                ("Mismatches", text(ver.get("mismatches"))),
                (
                    "Bytes checked",
                    text(f"{ver['bytes_checked']:,}" if isinstance(ver.get("bytes_checked"), int) else None),
                ),
                ("Carve hits after", carve_text if carve is not None else "not run"),
            ],
            width,
        )
    )
    artifacts = doc.get("artifacts_before")
    story += [Spacer(1, 3.5 * mm), _section("AI artifacts found before sanitization"), Spacer(1, 1.5 * mm)]
    if artifacts and artifacts.get("categories"):
        rows = [
            (name, f"{v['count']} item(s), {size_text(v['bytes'])}") for name, v in artifacts["categories"].items()
        ][:8]
        story.append(_kv_table(rows, width))
    else:
        story.append(_p("No inventory summary was supplied." if artifacts is None else "None found."))
    notes = [str(n) for n in doc.get("notes") or []]
    if doc.get("errors_total"):
        notes.insert(0, f"{doc['errors_total']} range(s) could not be written or read (listed in the attached JSON).")
    phases = doc.get("phases")
    phases = phases if isinstance(phases, dict) else {}
    progress = [
        f"{name} {entry.get('status')}" + (f" ({entry['detail']})" if entry.get("detail") else "")
        for name, entry in phases.items()
        if isinstance(entry, dict)
    ]
    if progress:
        notes.insert(0, "How far it got: " + "; ".join(progress) + ".")
    failure = doc.get("failure")
    if isinstance(failure, dict):
        kind = "an internal error" if failure.get("internal") else "an error"
        notes.insert(
            0, f"Stopped by {kind} in phase {failure.get('phase')}: {failure.get('error')}: {failure.get('message')}"
        )
    story += [Spacer(1, 3.5 * mm), _section("Notes"), Spacer(1, 1.5 * mm)]
    shown = notes[:_MAX_NOTES] or ["None."]
    if len(notes) > _MAX_NOTES:
        shown.append(f"… and {len(notes) - _MAX_NOTES} more in the attached JSON.")
    story += [_p(f"• {n}") for n in shown]
    story.append(Spacer(1, 4 * mm))
    half = (width - 6 * mm) / 2
    people = Table(
        [
            [
                _person_block("Performed by", doc.get("performed_by") or {}, half),
                _person_block("Validated by", doc.get("validated_by") or {}, half),
            ]
        ],
        colWidths=[half + 3 * mm, half + 3 * mm],
    )
    people.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(people)
    return story


def _page_decorator(doc: dict[str, Any], json_sha256: str, signer: Signer) -> Callable[[Canvas, Any], None]:
    is_cert = doc.get("schema") == CERT_SCHEMA
    accent = GREEN if is_cert else RED
    fields_ = visible_fields(doc)
    payload = qr.payload(fields_["certificate_id"], json_sha256, str(doc.get("schema")))
    org = _subject(signer)

    def draw(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setTitle(f"{doc.get('title')} — {fields_['serial']}")
        canvas.setAuthor(org)
        canvas.setSubject(f"{doc.get('schema')} {fields_['certificate_id']}")
        canvas.setCreator(f"{TOOL_NAME} {__version__}")
        top = PAGE_H
        canvas.setFillColor(NAVY)
        canvas.rect(0, top - HEADER_H, PAGE_W, HEADER_H, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica", 9)
        canvas.drawString(MARGIN, top - 12 * mm, f"{org}  ·  NIST SP 800-88 media sanitization record")
        if is_cert:
            canvas.setFont("Helvetica-Bold", 24)
            canvas.drawString(MARGIN, top - 23 * mm, "Certificate of Sanitization")
        else:
            canvas.setFont("Helvetica-Bold", 24)
            canvas.drawString(MARGIN, top - 23 * mm, "FAILURE REPORT")
            canvas.setFont("Helvetica-Bold", 12)
            canvas.drawString(MARGIN, top - 30 * mm, "NOT A CERTIFICATE OF SANITIZATION")
        canvas.setFont("Helvetica", 8)
        canvas.drawString(MARGIN, top - 38 * mm, "Certificate ID")
        canvas.setFont("Courier-Bold", 9)
        canvas.drawString(MARGIN + 22 * mm, top - 38 * mm, fields_["certificate_id"])
        canvas.setFont("Helvetica", 8)
        canvas.drawString(MARGIN, top - 42 * mm, f"Issued {text(doc.get('issued_at'))}")

        # Outcome banner below the header band.
        banner_y = top - HEADER_H - 13 * mm
        canvas.setFillColor(accent)
        canvas.roundRect(MARGIN, banner_y, PAGE_W - 2 * MARGIN - QR_SIZE - 6 * mm, 10 * mm, 2 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 15)
        canvas.drawString(MARGIN + 4 * mm, banner_y + 3.2 * mm, fields_["outcome"])
        canvas.setFont("Helvetica", 9)
        level = str((doc.get("sanitization") or {}).get("nist_level") or "").upper()
        canvas.drawRightString(
            PAGE_W - MARGIN - QR_SIZE - 10 * mm, banner_y + 3.5 * mm, f"NIST 800-88 {level}" if level else ""
        )

        # QR code (white quiet zone) at the top right, overlapping the band.
        n = qr.define_form(canvas, payload)
        qx, qy = PAGE_W - MARGIN - QR_SIZE, top - HEADER_H - QR_SIZE + 18 * mm
        canvas.setFillColor(colors.white)
        quiet = 4 * QR_SIZE / n  # the 4-module quiet zone scanners need (ISO/IEC 18004)
        canvas.rect(qx - quiet, qy - quiet, QR_SIZE + 2 * quiet, QR_SIZE + 2 * quiet, stroke=0, fill=1)
        canvas.saveState()
        canvas.translate(qx, qy)
        canvas.scale(QR_SIZE / n, QR_SIZE / n)
        canvas.doForm(qr.FORM_NAME)
        canvas.restoreState()
        canvas.setFillColor(GREY)
        canvas.setFont("Helvetica", 6)
        canvas.drawCentredString(qx + QR_SIZE / 2, qy - 5 * mm, "certificate ID + SHA-256 of signed JSON")

        # Footer: how to check this page.
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, 19 * mm, PAGE_W - MARGIN, 19 * mm)
        canvas.setFillColor(GREY)
        canvas.setFont("Helvetica", 6.5)
        canvas.drawString(MARGIN, 15.5 * mm, f"SHA-256 of the signed JSON: {json_sha256}")
        canvas.drawString(
            MARGIN,
            12.5 * mm,
            f"Digitally signed (PAdES) by {org}; signer certificate SHA-256 {signer.fingerprint[:47]}…",
        )
        canvas.drawString(
            MARGIN,
            9.5 * mm,
            "Verify: sanitize cert verify THIS.pdf --trust signer.pem   or, for the attached "
            "certificate.json: openssl dgst -sha256 -verify pub.pem -signature certificate.json.sig certificate.json",
        )
        canvas.drawRightString(PAGE_W - MARGIN, 6.5 * mm, f"{TOOL_NAME} {__version__}")
        canvas.restoreState()

    return draw


def _subject(signer: Signer) -> str:
    from cryptography.x509.oid import NameOID

    names = signer.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME) or (
        signer.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    )
    return str(names[0].value) if names else signer.cert.subject.rfc4514_string()


def render(doc: dict[str, Any], json_bytes: bytes, signer: Signer) -> bytes:
    """The unsigned one-page PDF of a certificate or failure report."""
    out = io.BytesIO()
    page = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=HEADER_H + 17 * mm,
        bottomMargin=22 * mm,
        title=str(doc.get("title")),
        author=_subject(signer),
        invariant=1,
    )
    decorate = _page_decorator(doc, sha256_hex(json_bytes), signer)
    page.build(_story(doc, PAGE_W - 2 * MARGIN), onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


# --- host summary ------------------------------------------------------------------------
def render_summary(summary: dict[str, Any], json_bytes: bytes, signer: Signer) -> bytes:
    out = io.BytesIO()
    width = PAGE_W - 2 * MARGIN
    page = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=22 * mm, invariant=1
    )
    host = summary.get("host") or {}
    title = ParagraphStyle("t", fontName="Helvetica-Bold", fontSize=20, textColor=NAVY, leading=24)
    story: list[Any] = [
        Paragraph("Sanitization summary for host", title),
        Spacer(1, 2 * mm),
        _kv_table(
            [
                ("Hostname", text(host.get("hostname"))),
                ("System", text(" ".join(x for x in (host.get("system_vendor"), host.get("product_name")) if x))),
                ("System serial", text(host.get("product_serial"))),
                ("System UUID", text(host.get("product_uuid"))),
                ("Devices", str(len(summary.get("devices") or []))),
                (
                    "Certified",
                    f"{sum(d.get('kind') == 'certificate' for d in summary.get('devices') or [])} certificate(s), "
                    f"{sum(d.get('kind') != 'certificate' for d in summary.get('devices') or [])} not certified",
                ),
                ("Issued", text(summary.get("issued_at"))),
            ],
            width,
        ),
        Spacer(1, 5 * mm),
    ]
    header = ["Serial", "Model", "Method", "Level", "Outcome", "Document"]
    rows: list[list[Any]] = [header]
    for item in summary.get("devices") or []:
        rows.append(
            [
                _p(item.get("serial")),
                _p(item.get("model")),
                _p(item.get("method")),
                text(str(item.get("nist_level") or "").upper() or None),
                text(item.get("outcome")),
                _p(f"{item.get('kind')} {item.get('certificate_id')}", _SMALL),
            ]
        )
    table = Table(rows, colWidths=[35 * mm, 34 * mm, 36 * mm, 13 * mm, 19 * mm, width - 137 * mm], repeatRows=1)
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), NAVY),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    for i, item in enumerate(summary.get("devices") or [], start=1):
        color = GREEN if item.get("kind") == "certificate" else RED
        style.append(("TEXTCOLOR", (4, i), (4, i), color))
    table.setStyle(TableStyle(style))
    story.append(table)
    json_sha256 = sha256_hex(json_bytes)

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setTitle(f"Sanitization summary — {text(host.get('hostname'))}")
        canvas.setFillColor(GREY)
        canvas.setFont("Helvetica", 6.5)
        canvas.drawString(MARGIN, 15.5 * mm, f"SHA-256 of the signed summary JSON: {json_sha256}")
        canvas.drawString(
            MARGIN, 12.5 * mm, f"Digitally signed (PAdES) by {_subject(signer)}. Each device has its own certificate."
        )
        canvas.drawRightString(PAGE_W - MARGIN, 9.5 * mm, f"page {canvas.getPageNumber()}")
        canvas.restoreState()

    page.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# --- attachments and PAdES signature -----------------------------------------------------
def _pyhanko_signer(signer: Signer) -> signers.SimpleSigner:
    key_der = signer.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    certs = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in signer.chain]
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(signer.cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(certs),  # type: ignore[no-untyped-call]
    )


def attach_and_sign(pdf: bytes, attachments: dict[str, tuple[bytes, str]], signer: Signer, *, reason: str) -> bytes:
    """Embed files (name -> (data, mime type)), then sign the whole document (PAdES B-B)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for name, (data, mime) in attachments.items():
        spec = embed.FileSpec(
            file_spec_string=name,
            file_name=name,
            embedded_data=embed.EmbeddedFileObject.from_file_data(writer, data, mime_type=mime),
            description=name,
            af_relationship=generic.NameObject("/Data"),
        )
        embed.embed_file(writer, spec)
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=_subject(signer),
    )
    out = signers.sign_pdf(writer, meta, signer=_pyhanko_signer(signer))
    return bytes(out.getvalue())


def document_pdf(doc: dict[str, Any], json_bytes: bytes, signature: bytes, signer: Signer) -> bytes:
    reason = "Certificate of Sanitization" if doc.get("schema") == CERT_SCHEMA else "Sanitization failure report"
    return attach_and_sign(
        render(doc, json_bytes, signer),
        {
            JSON_ATTACHMENT: (json_bytes, "application/json"),
            SIG_ATTACHMENT: (signature, "application/octet-stream"),
            SIGNER_ATTACHMENT: (signer.chain_pem(), "application/x-pem-file"),
        },
        signer,
        reason=reason,
    )


def summary_pdf(summary: dict[str, Any], json_bytes: bytes, signature: bytes, signer: Signer) -> bytes:
    return attach_and_sign(
        render_summary(summary, json_bytes, signer),
        {
            "summary.json": (json_bytes, "application/json"),
            "summary.json.sig": (signature, "application/octet-stream"),
            SIGNER_ATTACHMENT: (signer.chain_pem(), "application/x-pem-file"),
        },
        signer,
        reason="Sanitization summary",
    )
