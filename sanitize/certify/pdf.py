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
from reportlab.pdfbase.pdfdoc import TimeStamp
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    PageTemplate,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sanitize import TOOL_NAME, __version__
from sanitize.certify import qr
from sanitize.certify.canonical import sha256_hex
from sanitize.certify.document import CERT_SCHEMA
from sanitize.certify.keys import Signer
from sanitize.enums import Status
from sanitize.textsafe import human_size

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

_LABEL = ParagraphStyle("label", fontName="Helvetica", fontSize=7, textColor=GREY, leading=8.5)
_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=8, leading=9.6, alignment=TA_LEFT)
_SECTION = ParagraphStyle("section", fontName="Helvetica-Bold", fontSize=9, textColor=NAVY, leading=11)
_SMALL = ParagraphStyle("small", fontName="Helvetica", fontSize=6.5, textColor=GREY, leading=8)


# --- value formatting --------------------------------------------------------------------
def text(value: Any) -> str:
    """Plain text for a cell; '—' for unknown so a blank is never mistaken for a value."""
    if value is None or value == "":
        return "—"
    return str(value)


def size_text(size: Any) -> str:
    """Binary units, as the rest of the tool prints them, and the exact byte count."""
    if not isinstance(size, int) or isinstance(size, bool):
        return "—"
    return f"{human_size(size)} ({size:,} bytes)" if size >= 1024 else f"{size} bytes"


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


def device_name(doc: dict[str, Any]) -> str:
    """The device in a few words, for the document's title: serial, else path and host."""
    dev = doc.get("device") or {}
    if dev.get("serial"):
        return f"{dev.get('model') or 'device'} serial {dev['serial']}"
    host = (doc.get("media_source") or {}).get("hostname")
    return f"{dev.get('path') or dev.get('name') or 'device'}" + (f" on {host}" if host else "")


def document_title(doc: dict[str, Any]) -> str:
    head = "Certificate of Sanitization" if doc.get("schema") == CERT_SCHEMA else "Sanitization FAILURE REPORT"
    return f"{head} — {device_name(doc)} — {outcome_text(doc)}"


def _p(value: Any, style: ParagraphStyle = _BODY) -> Paragraph:
    from xml.sax.saxutils import escape

    # Wrapped, never cut: a certificate states what happened in full.
    return Paragraph(escape(text(value)), style)


# --- page building blocks ----------------------------------------------------------------
def _kv_table(rows: list[tuple[str, Any]], width: float, *, columns: int = 2) -> Table:
    """Label/value pairs in `columns` column pairs; values that verify checks are plain strings."""
    cells: list[list[Any]] = []
    per_row = columns
    for i in range(0, len(rows), per_row):
        line: list[Any] = []
        for label, value in rows[i : i + per_row]:
            line += [Paragraph(label, _LABEL), value if not isinstance(value, str) else _cell(value, columns)]
        while len(line) < 2 * per_row:
            line += ["", ""]
        cells.append(line)
    label_w = 25 * mm
    value_w = width / per_row - label_w
    table = Table(cells, colWidths=[label_w, value_w] * per_row)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                ("TOPPADDING", (0, 0), (-1, -1), 1.1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.1),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
            ]
        )
    )
    return table


def _cell(value: str, columns: int = 2) -> Any:
    # Short values stay plain strings; long ones wrap (verify compares whitespace-normalised text).
    return value if len(value) <= (38 if columns == 2 else 100) else _p(value)


def _section(title: str) -> Paragraph:
    return Paragraph(title.upper(), _SECTION)


def _person_block(title: str, person: dict[str, Any], width: float, how: str) -> Table:
    def pair(key: str, label: str) -> str:
        return f"<font color='#5F6368' size='7'>{label}</font>&nbsp;&nbsp;{_esc(person.get(key))}"

    rows: list[list[Any]] = [[Paragraph(title, _SECTION)]]
    for keys in ((("name", "Name"),), (("title", "Position / title"),), (("organization", "Organization"),)):
        rows.append([Paragraph("&nbsp;&nbsp;&nbsp;".join(pair(k, label) for k, label in keys), _BODY)])
    rows.append([Paragraph(f"{pair('location', 'Location')}&nbsp;&nbsp;&nbsp;{pair('contact', 'Contact')}", _BODY)])
    rows.append([Spacer(1, 4 * mm)])
    rows.append([Paragraph("Signature ______________________&nbsp;&nbsp;Date ____________", _BODY)])
    rows.append([Paragraph(how, _SMALL)])
    table = Table(rows, colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _esc(value: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(text(value)) if value else "<font color='#9AA0A6'>________________</font>"


def _number(value: Any) -> str | None:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else None


def read_back_text(read: dict[str, Any]) -> str:
    method = read.get("method")
    if method in (None, "none"):
        return f"none ({text(read.get('outcome'))})"
    what = {"full": "full read-back", "sample": "sampled read-back"}.get(str(method), str(method))
    parts = [f"{what} of {coverage_text(read.get('coverage'))} of the device"]
    if _number(read.get("bytes_checked")):
        parts[0] += f" ({_number(read.get('bytes_checked'))} bytes)"
    if _number(read.get("subsections")):
        parts.append(f"{_number(read.get('subsections'))} subsections")
    if _number(read.get("samples")):
        parts.append(f"{_number(read.get('samples'))} sampled blocks compared with before the erase")
    parts.append(f"{text(_number(read.get('mismatches')))} mismatch(es)")
    parts.append(str(read.get("outcome") or "unknown").upper())
    return "; ".join(parts)


def carve_text(carve: dict[str, Any] | None) -> str:
    if not carve:
        return "not run"
    hits = carve.get("hits")
    found = "nothing recognisable found" if hits == 0 else f"{text(hits)} AI artifact signature(s) found"
    kinds = carve.get("kinds") or {}
    if kinds:
        found += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) + ")"
    where = "the erased device searched for AI artifact headers, SQLite pages and embedding runs"
    if carve.get("coverage") is not None:
        where = f"{coverage_text(carve.get('coverage'))} of " + where
    return f"{where}: {found}"


def artifacts_text(artifacts: dict[str, Any] | None) -> tuple[list[tuple[str, str]], str | None]:
    """Rows per category, and a sentence on what could not be read (never "none" for an unread volume)."""
    if artifacts is None:
        return [], "No inventory was supplied: unknown."
    rows = [(name, f"{v['count']} item(s), {size_text(v['bytes'])}") for name, v in artifacts["categories"].items()]
    volumes = artifacts.get("volumes")
    if volumes is None:
        return rows, None if rows else "None found."
    unread = [v for v in volumes if v.get("state") in ("encrypted", "not-scanned")]
    scanned = [v for v in volumes if v.get("state") == "scanned"]
    notes = []
    if unread:
        notes.append(
            "Not scanned: "
            + "; ".join(f"{v['device']} ({text(v.get('fstype'))}): {text(v.get('why'))}" for v in unread)
            + "."
        )
    if not rows:
        if scanned:
            files = sum(int(v.get("files_seen") or 0) for v in scanned)
            notes.insert(0, f"None found on the {len(scanned)} scanned volume(s) ({files:,} files).")
        elif not volumes:
            notes.insert(0, "No filesystem on the device: there were no files to scan.")
        elif not unread:
            notes.insert(0, "None found.")
    return rows, " ".join(notes) or None


def _story(doc: dict[str, Any], width: float) -> list[Any]:
    dev = doc.get("device") or {}
    src = doc.get("media_source") or {}
    san = doc.get("sanitization") or {}
    det = san.get("method_details") or {}
    std = san.get("standard") or {}
    val = doc.get("validation") or {}
    ver = doc.get("verification") or {}
    fields_ = visible_fields(doc)
    story: list[Any] = []

    sectors = dev.get("logical_sector_size"), dev.get("physical_sector_size")
    story += [_section("Media information"), Spacer(1, 0.8 * mm)]
    story.append(
        _kv_table(
            [
                ("Manufacturer", text(dev.get("manufacturer"))),
                ("Model", text(dev.get("model"))),
                ("Serial number", fields_["serial"]),
                ("WWN", text(dev.get("wwn"))),
                ("Capacity", size_text(dev.get("size_bytes"))),
                ("Sector size", " / ".join(f"{s:,} B" for s in sectors if isinstance(s, int)) or "—"),
                ("Media type", text(dev.get("media_type"))),
                ("Interface", text(dev.get("interface"))),
                ("Firmware", text(dev.get("firmware"))),
                ("Property number", text(dev.get("property_number"))),
            ],
            width,
        )
    )
    names = [("Identified by", text(dev.get("identified_by"))), ("Device path", text(dev.get("path")))]
    if dev.get("backing_file"):
        names.append(("Backing file", text(dev.get("backing_file"))))
    names += [("udev name", str(link)) for link in dev.get("links") or []]
    story.append(_kv_table(names, width, columns=1))
    story += [Spacer(1, 1.8 * mm), _section("Media source (host)"), Spacer(1, 1 * mm)]
    story.append(
        _kv_table(
            [
                ("Hostname", text(src.get("hostname"))),
                ("System", text(" ".join(x for x in (src.get("system_vendor"), src.get("product_name")) if x))),
                ("System serial", text(src.get("product_serial"))),
                ("Asset tag", text(src.get("chassis_asset_tag"))),
                ("System UUID", text(src.get("product_uuid"))),
                ("Confidentiality", text(doc.get("pre_sanitization_confidentiality"))),
            ],
            width,
        )
    )
    story.append(_kv_table([("machine-id SHA-256", text(src.get("machine_id_sha256")))], width, columns=1))
    story += [Spacer(1, 1.8 * mm), _section("Sanitization"), Spacer(1, 1 * mm)]
    tool = san.get("tool") or {}
    story.append(
        _kv_table(
            [
                ("Method (level)", f"{text(std.get('nist_method') or san.get('nist_level'))}"),
                ("Method type", text(san.get("method_family"))),
                ("Method used", fields_["method"]),
                ("IEEE 2883 technique", text(std.get("technique"))),
                ("Started (UTC)", text(doc.get("started_at"))),
                ("Finished (UTC)", text(doc.get("finished_at"))),
                ("Duration", duration_text(doc.get("started_at"), doc.get("finished_at"))),
                ("Tool used", f"{text(tool.get('name'))} {text(tool.get('version'))}"),
            ],
            width,
        )
    )
    story.append(
        _kv_table(
            [
                ("Standard", f"{text(std.get('nist') or 'NIST SP 800-88')}; {text(std.get('ieee2883'))}"),
                ("Interface command", text(std.get("interface_command"))),
                ("What was done", text(det.get("description"))),
                ("Destination", text(doc.get("post_sanitization_destination"))),
            ],
            width,
            columns=1,
        )
    )
    story += [Spacer(1, 1.8 * mm), _section("Verification and validation"), Spacer(1, 1 * mm)]
    story.append(
        _kv_table(
            [
                ("Technique completed", text(val.get("technique_completed"))),
                ("Read-back", read_back_text(val.get("read_back") or ver)),
                ("Carve check", carve_text(val.get("carve_check"))),
                ("Outcome", text(str(ver.get("outcome") or "").upper() or None)),
            ],
            width,
            columns=1,
        )
    )
    rows, sentence = artifacts_text(doc.get("artifacts_before"))
    story += [Spacer(1, 1.8 * mm), _section("AI artifacts found before sanitization"), Spacer(1, 1 * mm)]
    if rows:
        story.append(_kv_table(rows, width))
    if sentence:
        story.append(_p(sentence))
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
    story += [Spacer(1, 1.8 * mm), _section("Notes"), Spacer(1, 1 * mm)]
    story += [_p(f"• {n}") for n in notes or ["None."]]
    story.append(Spacer(1, 2 * mm))
    half = (width - 6 * mm) / 2
    people = Table(
        [
            [
                _person_block(
                    "Performed by", doc.get("performed_by") or {}, half, "The person who ran the sanitization."
                ),
                _person_block(
                    "Validated by",
                    doc.get("validated_by") or {},
                    half,
                    "A second person: sign by hand, or countersign the signed file with "
                    "<font name='Courier'>sanitize cert countersign</font>.",
                ),
            ]
        ],
        colWidths=[half + 3 * mm, half + 3 * mm],
    )
    people.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(people)
    return story


def _issued_stamp(canvas: Canvas, issued_at: Any) -> None:
    """The PDF's creation date is the issue time (reportlab would write now, or 2000-01-01 when invariant)."""
    try:
        when = dt.datetime.fromisoformat(str(issued_at).replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return
    stamp = TimeStamp(invariant=1)
    stamp.t = when.timestamp()
    stamp.lt = when.timetuple()
    stamp.YMDhms = tuple(when.timetuple())[:6]
    canvas._doc._timeStamp = stamp


def _page_decorator(doc: dict[str, Any], json_sha256: str, signer: Signer) -> Callable[[Canvas, Any], None]:
    is_cert = doc.get("schema") == CERT_SCHEMA
    accent = GREEN if is_cert else RED
    fields_ = visible_fields(doc)
    payload = qr.payload(fields_["certificate_id"], json_sha256, str(doc.get("schema")))
    org = _subject(signer)
    form: dict[str, int] = {}

    def draw(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setTitle(document_title(doc))
        _issued_stamp(canvas, doc.get("issued_at"))
        canvas.setAuthor(org)
        canvas.setSubject(f"{doc.get('schema')} {fields_['certificate_id']}")
        canvas.setCreator(f"{TOOL_NAME} {__version__}")
        top = PAGE_H
        if canvas.getPageNumber() > 1:
            continuation(canvas)
            footer(canvas)
            canvas.restoreState()
            return
        canvas.setFillColor(NAVY)
        canvas.rect(0, top - HEADER_H, PAGE_W, HEADER_H, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica", 9)
        std = (doc.get("sanitization") or {}).get("standard") or {}
        canvas.drawString(
            MARGIN, top - 12 * mm, f"{org}  ·  {std.get('nist') or 'NIST SP 800-88'} media sanitization record"
        )
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
            PAGE_W - MARGIN - QR_SIZE - 10 * mm,
            banner_y + 3.5 * mm,
            f"{std.get('nist') or 'NIST SP 800-88'} {level}" if level else "",
        )

        # QR code (white quiet zone) at the top right, overlapping the band.
        if "n" not in form:  # defined once, drawn on every page
            form["n"] = qr.define_form(canvas, payload)
        n = form["n"]
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

        footer(canvas)
        canvas.restoreState()

    def continuation(canvas: Canvas) -> None:
        canvas.setFillColor(NAVY)
        canvas.rect(0, PAGE_H - 16 * mm, PAGE_W, 16 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 11)
        head = "Certificate of Sanitization" if is_cert else "FAILURE REPORT — NOT A CERTIFICATE OF SANITIZATION"
        canvas.drawString(MARGIN, PAGE_H - 9 * mm, f"{head} (continued)")
        canvas.setFont("Courier-Bold", 8)
        canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - 9 * mm, fields_["certificate_id"])

    def footer(canvas: Canvas) -> None:
        # How to check this page; every line whole (a fingerprint cut short cannot be compared).
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, 20 * mm, PAGE_W - MARGIN, 20 * mm)
        canvas.setFillColor(GREY)
        lines = [
            f"SHA-256 of the signed JSON: {json_sha256}",
            f"Digitally signed (PAdES) by {org}; signer certificate SHA-256 {signer.fingerprint}",
            "Verify: sanitize cert verify THIS.pdf --trust signer.pem   or, for the attached certificate.json: "
            "openssl dgst -sha256 -verify pub.pem -signature certificate.json.sig certificate.json",
        ]
        size = 6.0
        while size > 4.5 and max(stringWidth(line, "Helvetica", size) for line in lines) > PAGE_W - 2 * MARGIN:
            size -= 0.25
        canvas.setFont("Helvetica", size)
        for i, line in enumerate(lines):
            canvas.drawString(MARGIN, (16.8 - 3 * i) * mm, line)
        canvas.drawRightString(PAGE_W - MARGIN, 6.5 * mm, f"{TOOL_NAME} {__version__} · page {canvas.getPageNumber()}")

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
    page = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        bottomMargin=22 * mm,
        title=document_title(doc),
        author=_subject(signer),
        invariant=1,
    )
    decorate = _page_decorator(doc, sha256_hex(json_bytes), signer)
    width, bottom = PAGE_W - 2 * MARGIN, 22 * mm
    first_top = PAGE_H - HEADER_H - 17 * mm
    later_top = PAGE_H - 24 * mm  # a continuation page has a slim header only
    page.addPageTemplates(
        [
            PageTemplate(
                "first",
                [Frame(MARGIN, bottom, width, first_top - bottom, id="first")],
                onPage=decorate,
                autoNextPageTemplate="later",
            ),
            PageTemplate("later", [Frame(MARGIN, bottom, width, later_top - bottom, id="later")], onPage=decorate),
        ]
    )
    page.build(_story(doc, width))
    return out.getvalue()


# --- host summary ------------------------------------------------------------------------
def summary_device_text(item: dict[str, Any]) -> str:
    """A row's device: path and size, then its serial or, without one, what identifies it."""
    head = (
        f"{text(item.get('path') or item.get('name'))}, {human_size(item['size_bytes'])}"
        if isinstance(item.get("size_bytes"), int)
        else text(item.get("path") or item.get("name"))
    )
    if item.get("serial"):
        return f"{head}; serial {item['serial']}"
    other = item.get("backing_file") and f"backing file {item['backing_file']}"
    links = [link for link in item.get("links") or [] if "/by-id/" in link] or list(item.get("links") or [])
    return f"{head}; no serial: " + (other or (links[0] if links else "identified by its path in this host"))


def summary_outcome(item: dict[str, Any]) -> str:
    if item.get("outcome") == "not-sanitized":
        return "NOT SANITIZED"
    return str(item.get("outcome") or "unknown").upper()


def render_summary(summary: dict[str, Any], json_bytes: bytes, signer: Signer) -> bytes:
    out = io.BytesIO()
    width = PAGE_W - 2 * MARGIN
    host = summary.get("host") or {}
    devices = summary.get("devices") or []
    title_text = f"Sanitization summary — {text(host.get('hostname'))}"
    page = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=22 * mm,
        invariant=1,
        title=title_text,
        author=_subject(signer),
    )
    title = ParagraphStyle("t", fontName="Helvetica-Bold", fontSize=20, textColor=NAVY, leading=24)
    certified = sum(d.get("kind") == "certificate" for d in devices)
    left = sum(d.get("outcome") == "not-sanitized" for d in devices)
    story: list[Any] = [
        Paragraph("Sanitization summary for host", title),
        Spacer(1, 2 * mm),
        _kv_table(
            [
                ("Hostname", text(host.get("hostname"))),
                ("System", text(" ".join(x for x in (host.get("system_vendor"), host.get("product_name")) if x))),
                ("System serial", text(host.get("product_serial"))),
                ("System UUID", text(host.get("product_uuid"))),
                ("Asset tag", text(host.get("chassis_asset_tag"))),
                ("Issued", text(summary.get("issued_at"))),
                ("Devices", str(len(devices))),
                (
                    "Outcome",
                    f"{certified} certified, {len(devices) - certified - left} failed or not verified, "
                    f"{left} not sanitized by this run",
                ),
            ],
            width,
        ),
        _kv_table([("machine-id SHA-256", text(host.get("machine_id_sha256")))], width, columns=1),
        Spacer(1, 4 * mm),
    ]
    header = ["Device", "Model", "Method (level)", "Outcome", "Document, or why not"]
    rows: list[list[Any]] = [header]
    for item in devices:
        level = str(item.get("nist_level") or "").capitalize()
        method = f"{text(item.get('method'))} ({level})" if item.get("method") else "—"
        if item.get("outcome") == "not-sanitized":
            paper = _p(f"{text(item.get('why'))}. What to do: {text(item.get('advice'))}", _SMALL)
        else:
            paper = _p(f"{item.get('kind')} {text(item.get('certificate_id'))}", _SMALL)
        rows.append([_p(summary_device_text(item)), _p(item.get("model")), _p(method), summary_outcome(item), paper])
    table = Table(rows, colWidths=[52 * mm, 30 * mm, 34 * mm, 24 * mm, width - 140 * mm], repeatRows=1)
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), NAVY),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 7.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    for i, item in enumerate(devices, start=1):
        color = GREEN if item.get("kind") == "certificate" else RED
        style.append(("TEXTCOLOR", (3, i), (3, i), color))
    table.setStyle(TableStyle(style))
    story.append(table)
    json_sha256 = sha256_hex(json_bytes)

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setTitle(title_text)
        _issued_stamp(canvas, summary.get("issued_at"))
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
