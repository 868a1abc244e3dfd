"""The server report as PDF (reportlab): the same content and drawing as the HTML page."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sanitize import TOOL_NAME, __version__
from sanitize.server_report.model import (
    CATEGORY_COLOURS,
    STATES,
    Disk,
    ServerReport,
    Volume,
    colour_of,
    relative_link,
)
from sanitize.textsafe import human_size, printable

PAGE_W, PAGE_H = A4
MARGIN = 14 * mm
WIDTH = PAGE_W - 2 * MARGIN
ROW_H = 11 * mm
NAVY = colors.HexColor("#1F2A44")
GREY = colors.HexColor("#5F6368")
RULE = colors.HexColor("#DADCE0")
SOFT = colors.HexColor("#F5F6F8")

_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=8.5, leading=10.5)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=7.5, leading=9, textColor=GREY)
_TINY = ParagraphStyle("tiny", parent=_BODY, fontSize=6, leading=7, textColor=colors.white, backColor=colors.black)
_MONO = ParagraphStyle("mono", parent=_BODY, fontName="Courier", fontSize=7.5, leading=9)
_H1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=20, leading=24, textColor=NAVY)
_H2 = ParagraphStyle("h2", fontName="Helvetica-Bold", fontSize=13, leading=16, textColor=NAVY, spaceBefore=8)
_H3 = ParagraphStyle("h3", fontName="Helvetica-Bold", fontSize=10, leading=13, spaceBefore=4)


def t(value: Any) -> str:
    """Escaped text for a Paragraph (reportlab's markup is XML-like)."""
    return escape(printable("" if value is None else str(value)))


def p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(text, style)


def _swatch(colour: str, protected: bool = False) -> str:
    # A coloured box in running text (Helvetica has no box glyph): spaces on that background.
    box = f'<font backColor="{colour}">&nbsp;&nbsp;&nbsp;&nbsp;</font>'
    return box + (' <font backColor="#000000" color="#ffffff" size="6">P</font>' if protected else "")


class DiskBar(Flowable):  # type: ignore[misc]  # reportlab ships no type information
    """A disk's bar: its partitions to scale, what is stacked on them in the rows below."""

    def __init__(self, disk: Disk, width: float) -> None:
        super().__init__()
        self.disk = disk
        self.bar_w = max(40 * mm, width * disk.scale)
        self.height = disk.rows * ROW_H + 2

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.bar_w, self.height

    def draw(self) -> None:
        c: Canvas = self.canv
        c.setStrokeColor(colors.HexColor("#90A4AE"))
        c.setLineWidth(0.6)
        c.rect(0, 0, self.bar_w, self.height, stroke=1, fill=0)
        for row, left, width, block in self.disk.layout():
            x, w = left * self.bar_w, max(width * self.bar_w, 0.8)
            y = self.height - (row + 1) * ROW_H
            fill = colors.HexColor(block.colour)
            c.setFillColor(fill)
            c.setStrokeColor(colors.black if block.protected else colors.HexColor("#607D8B"))
            c.setLineWidth(1.4 if block.protected else 0.4)
            if block.state == "free":
                c.setDash(2, 2)
            c.rect(x + 0.5, y + 1, w - 1, ROW_H - 2, stroke=1, fill=1)
            c.setDash()
            if block.protected:
                self._hatch(x + 0.5, y + 1, w - 1, ROW_H - 2)
            self._label(block.label, block.tag, x, y, w, fill)

    def _hatch(self, x: float, y: float, w: float, h: float) -> None:
        c = self.canv
        c.saveState()
        path = c.beginPath()
        path.rect(x, y, w, h)
        c.clipPath(path, stroke=0, fill=0)
        c.setStrokeColor(colors.Color(0, 0, 0, alpha=0.35))
        c.setLineWidth(1)
        step = 3 * mm
        start = -h
        while start < w:
            c.line(x + start, y, x + start + h, y + h)
            start += step
        c.restoreState()

    def _label(self, label: str, tag: str, x: float, y: float, w: float, fill: colors.Color) -> None:
        # Drawn only where it fits whole; the list under the bar always has the full text.
        c = self.canv
        light = 0.299 * fill.red + 0.587 * fill.green + 0.114 * fill.blue > 0.67
        c.setFillColor(NAVY if light else colors.white)
        lines = ((printable(label), "Helvetica-Bold", 7.5, 6.2 * mm), (printable(tag), "Helvetica", 7, 2.6 * mm))
        for text, font, size_pt, dy in lines:
            if stringWidth(text, font, size_pt) <= w - 3:
                c.setFont(font, size_pt)
                c.drawString(x + 2, y + dy, text)


def _header(report: ServerReport) -> list[Any]:
    host = report.host
    system = " ".join(str(host[k]) for k in ("system_vendor", "product_name") if host.get(k))
    ident = [
        system or None,
        f"serial {host['product_serial']}" if host.get("product_serial") else "no system serial",
        f"UUID {host['product_uuid']}" if host.get("product_uuid") else None,
        f"machine-id SHA-256 {host['machine_id_sha256']}" if host.get("machine_id_sha256") else None,
    ]
    c = report.counts
    stage = "plan (dry run: nothing written)" if report.dry_run else ("results" if report.executed else "plan")
    facts = [
        f"<b>{c['volumes_with_ai_data']}</b> volume(s) hold AI data ({c['ai_artifacts']:,} artifacts)",
        f"<b>{c['volumes_not_readable']}</b> not readable (encrypted or not scanned)",
        f"<b>{c['disks']}</b> disk(s), <b>{c['planned']}</b> planned, <b>{c['not_sanitized']}</b> not sanitized",
    ]
    if report.executed:
        facts.append(f"<b>{c['verified']}</b> sanitized and verified")
    return [
        p(f"{t(TOOL_NAME)} · server report · {t(stage)}", _SMALL),
        p(t(host.get("hostname") or "unknown host"), _H1),
        p(" · ".join(t(i) for i in ident if i), _SMALL),
        Spacer(1, 2 * mm),
        p(" · ".join(facts)),
    ]


def _legend() -> Paragraph:
    items = [(colour, words) for state, (colour, words) in STATES.items() if state != "ai-data"]
    items += [(colour, name) for name, colour in CATEGORY_COLOURS.items()]
    text = "  ".join(f"{_swatch(colour)} {t(words)}" for colour, words in items)
    return p(text + f"  {_swatch('#ffffff', True)} PROTECTED: never written by sanitize", _SMALL)


def _disk(disk: Disk) -> list[Any]:
    badge = ""
    if disk.result:
        badge = f" — <b>{t(disk.result['status'].upper())}</b>: {t(disk.result['method_label'])}"
    elif disk.plan:
        badge = f" — plan: {t(disk.plan['method_label'])} ({t(disk.plan['nist_level'].capitalize())})"
    elif disk.not_sanitized:
        badge = " — <b>NOT SANITIZED by this run</b>"
    rows = []
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (0, -1), 1),
        ("RIGHTPADDING", (0, 0), (0, -1), 1),
    ]
    for i, (depth, block) in enumerate(item for b in disk.blocks for item in b.walk()):
        rows.append(
            [
                p("<b>P</b>", _TINY) if block.protected else "",
                p("&nbsp;" * 3 * depth + f"<b>{t(block.label)}</b>"),
                p(t(block.detail), _SMALL),
            ]
        )
        style += [("BACKGROUND", (0, i), (0, i), colors.HexColor(block.colour)), ("BOX", (0, i), (0, i), 0.4, GREY)]
    parts = Table(rows, colWidths=[4 * mm, 50 * mm, WIDTH - 56 * mm])
    parts.setStyle(TableStyle(style))
    out: list[Any] = [
        p(f"<b>{t(disk.title)}</b>{badge}", _H3),
        p(" · ".join(t(i) for i in disk.identity), _SMALL),
        Spacer(1, 1.5 * mm),
        DiskBar(disk, WIDTH),
        Spacer(1, 1.5 * mm),
        parts,
    ]
    if disk.not_sanitized:
        out.append(
            p(f"Not sanitized: {t(disk.not_sanitized['why'])}. What to do: {t(disk.not_sanitized['advice'])}.", _SMALL)
        )
    return [KeepTogether(out), Spacer(1, 4 * mm)]


def _grid(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), SOFT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _volume(volume: Volume) -> list[Any]:
    r = volume.report
    colour = colour_of(volume.state, volume.category)
    out: list[Any] = [p(f"{_swatch(colour)} {t(r.head)}", _H3), p(t(r.short_body))]
    if r.groups:
        where = "Largest paths" + ("" if r.mounted_at else " (from the volume's root)")
        rows: list[list[Any]] = [[p(f"<b>{h}</b>") for h in ("Kind", "Format", "Items", "Records", "Size", where)]]
        for g in r.ranked_groups:
            paths = "<br/>".join(
                f"{t(f.path)} ({t(human_size(f.size_bytes))}{', world-readable' if f.world_readable else ''})"
                for f in g.top
            )
            if g.count > len(g.top):
                paths += f"<br/>and {g.count - len(g.top):,} more"
            rows.append(
                [
                    p(f"{_swatch(colour_of('ai-data', g.category))} {t(g.category)}"),
                    p(t(g.format)),
                    p(f"{g.count:,}"),
                    p(f"{g.records:,}"),
                    p(t(human_size(g.bytes))),
                    p(paths, _MONO),
                ]
            )
        out += [Spacer(1, 1 * mm), _grid(rows, [30 * mm, 28 * mm, 14 * mm, 17 * mm, 18 * mm, WIDTH - 107 * mm])]
    if r.own_count:
        out.append(
            p(
                f"Apart from the above: {r.own_count:,} of sanitize's own files ({t(human_size(r.own_bytes))}: its "
                f"test fixtures and installation in {t(', '.join(r.own_trees))}), not the server's data.",
                _SMALL,
            )
        )
    return [*out, Spacer(1, 3 * mm)]


def _plan(report: ServerReport) -> list[Any]:
    out: list[Any] = [CondPageBreak(40 * mm), p("Plan", _H2)]
    rows: list[list[Any]] = [[p(f"<b>{h}</b>") for h in ("Device", "Method", "Level", "Standard", "Why")]]
    for disk in report.disks:
        plan = disk.plan
        if plan is None:
            continue
        eta = "" if plan["expected_seconds"] is None else f"<br/>about {plan['expected_seconds']:.0f} s"
        rows.append(
            [
                p(f"<b>{t(disk.device.path)}</b><br/>confirm as {t(plan['confirm_as'])}"),
                p(f"{t(plan['method_label'])}{eta}"),
                p(t(plan["nist_level"].capitalize())),
                p(t(plan["standard_line"]), _SMALL),
                p(t(plan["why"]) + "".join(f"<br/>note: {t(n)}" for n in plan["notes"]), _SMALL),
            ]
        )
    if len(rows) > 1:
        out.append(_grid(rows, [30 * mm, 32 * mm, 13 * mm, 45 * mm, WIDTH - 120 * mm]))
    else:
        out.append(p("Nothing is planned: every device is protected, excluded or not storage."))
    blocked = [d for d in report.disks if d.not_sanitized]
    if blocked:
        rows = [[p(f"<b>{h}</b>") for h in ("Device", "Why", "What to do")]]
        rows += [
            [
                p(f"<b>{t(d.device.path)}</b>"),
                p(t((d.not_sanitized or {}).get("why"))),
                p(t((d.not_sanitized or {}).get("advice"))),
            ]
            for d in blocked
        ]
        out += [p("Not sanitized by this run", _H3), _grid(rows, [30 * mm, 70 * mm, WIDTH - 100 * mm])]
    return out


def _results(report: ServerReport, path: str) -> list[Any]:
    if not report.executed:
        return []
    rows: list[list[Any]] = [[p(f"<b>{h}</b>") for h in ("Device", "Status", "Method", "Verification", "Document")]]
    for disk in report.disks:
        res = disk.result
        if res is None:
            continue
        doc = res.get("document")
        paper = "no certificate"
        if doc:
            kind = "Certificate" if doc["kind"] == "certificate" else "FAILURE REPORT"
            link = t(relative_link(doc["pdf"], path))
            paper = f'<a href="{link}" color="blue">{kind}</a> {t(doc["certificate_id"])}<br/>{link}'
        rows.append(
            [
                p(f"<b>{t(disk.device.path)}</b>"),
                p(f"<b>{t(res['status'].upper())}</b>" + "".join(f"<br/>{t(x)}" for x in res["errors"])),
                p(f"{t(res['method_label'])} ({t(res['nist_level'].capitalize())})"),
                p(t(res["verification"])),
                p(paper, _SMALL),
            ]
        )
    out: list[Any] = [p("Results", _H2), _grid(rows, [28 * mm, 22 * mm, 38 * mm, 36 * mm, WIDTH - 124 * mm])]
    if report.summary_pdf:
        out.append(p(f"Host summary: {t(relative_link(report.summary_pdf, path))}", _SMALL))
    return out


def render(report: ServerReport, path: str) -> bytes:
    out = io.BytesIO()
    host = str(report.host.get("hostname") or "unknown host")
    title = f"Server report: {host}"
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=title,
        author=f"{TOOL_NAME} {__version__}",
        subject="Inventory of AI data and sanitization plan (names, sizes, kinds, counts, hashes and paths only)",
        creator=f"{TOOL_NAME} {__version__}",
    )
    story: list[Any] = [*_header(report), Spacer(1, 3 * mm), p("The server at a glance", _H2), _legend()]
    story.append(Spacer(1, 2 * mm))
    for disk in report.disks:
        story += _disk(disk)
    heading = "AI data by volume" + (" (found before sanitization)" if report.executed else "")
    story += [CondPageBreak(40 * mm), p(heading, _H2)]
    for volume in report.volumes:
        story += _volume(volume)
    story += _plan(report)
    story += _results(report, path)

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(GREY)
        canvas.drawString(
            MARGIN,
            9 * mm,
            f"{title} · generated {report.generated_at} by {TOOL_NAME} {__version__} · names, sizes, kinds, counts, "
            "hashes and paths only, never file contents",
        )
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, f"page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
