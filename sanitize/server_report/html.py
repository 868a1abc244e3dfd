"""The server report as one self-contained HTML file.

No script, no font, no image and no style is fetched from anywhere: the style sheet is inline
and a Content-Security-Policy forbids everything else, so even a file name built to inject
markup (every value is escaped too) cannot run code or make the browser reach the network.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sanitize import TOOL_NAME, __version__
from sanitize.server_report.model import CATEGORY_COLOURS, STATES, Disk, ServerReport, Volume, colour_of, relative_link
from sanitize.textsafe import human_size, printable

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
ROW_PX = 46  # height of one row of a disk's bar (a partition, then what is stacked on it)

STYLE = """
:root { --ink:#1f2a44; --muted:#5f6368; --rule:#dadce0; --soft:#f5f6f8; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color:var(--ink);
       background:#fff; }
header.top { background:var(--ink); color:#fff; padding:22px 32px 18px; }
header.top .brand { font-size:12px; letter-spacing:.08em; text-transform:uppercase; opacity:.8; }
header.top h1 { margin:4px 0 2px; font-size:28px; }
header.top .ident { font-size:13px; opacity:.9; word-break:break-all; }
.kpis { display:flex; flex-wrap:wrap; gap:10px; margin-top:14px; }
.kpi { background:rgba(255,255,255,.12); border-radius:6px; padding:6px 12px; font-size:13px; }
.kpi b { font-size:20px; margin-right:6px; }
.kpi.bad { background:#c62828; } .kpi.warn { background:#b26a00; } .kpi.good { background:#2e7d32; }
main { padding:8px 32px 32px; max-width:1400px; }
h2 { font-size:19px; border-bottom:2px solid var(--ink); padding-bottom:4px; margin-top:28px; }
h3 { font-size:15px; margin:18px 0 6px; }
.legend { display:flex; flex-wrap:wrap; gap:6px 16px; font-size:12px; color:var(--muted); margin:8px 0 14px; }
.legend span { display:inline-flex; align-items:center; gap:5px; }
.sw { display:inline-block; width:14px; height:14px; border-radius:3px; border:1px solid rgba(0,0,0,.25);
      vertical-align:-2px; flex:none; }
.sw.protected, .blk.protected { background-image: repeating-linear-gradient(135deg, rgba(0,0,0,.34) 0 3px,
      transparent 3px 9px); }
.disk { margin:0 0 22px; }
.disk-head { display:flex; flex-wrap:wrap; align-items:baseline; gap:4px 12px; margin-bottom:5px; }
.disk-head .dev { font-weight:700; font-size:16px; }
.disk-head .idn { font-size:12px; color:var(--muted); word-break:break-all; }
.badge { font-size:12px; font-weight:700; border-radius:10px; padding:1px 9px; color:#fff; background:#455a64; }
.badge.plan { background:#1565c0; } .badge.blocked { background:#6d4c41; } .badge.ok { background:#2e7d32; }
.badge.bad { background:#c62828; }
.bar { position:relative; border:1px solid #90a4ae; border-radius:4px; background:#fff; min-width:160px; }
.blk { position:absolute; border:1px solid rgba(0,0,0,.35); border-radius:3px; overflow:hidden;
       color:#fff; font-size:12px; line-height:15px; min-width:3px; white-space:nowrap; }
.blk .in { display:block; padding:3px 5px; overflow:hidden; text-overflow:ellipsis; }
.blk.light { color:var(--ink); }
.blk.protected { border:2px solid #000; }
.blk .sz { display:block; font-size:11px; opacity:.9; overflow:hidden; text-overflow:ellipsis; }
.blk.s-free { border-style:dashed; background:#fff; }
ul.parts { list-style:none; margin:6px 0 0; padding:0; font-size:13px; }
ul.parts li { margin:2px 0; display:flex; gap:6px; align-items:flex-start; }
ul.parts .what { font-weight:600; white-space:nowrap; }
ul.parts .det { color:#37474f; word-break:break-word; }
article.vol { border:1px solid var(--rule); border-left:6px solid var(--c); border-radius:6px; padding:8px 14px 10px;
              margin:12px 0; background:#fff; }
article.vol h3 { margin:2px 0 4px; display:flex; gap:8px; align-items:center; flex-wrap:wrap; }
.risk { margin:2px 0 8px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { text-align:left; background:var(--soft); font-weight:600; }
th, td { border-bottom:1px solid var(--rule); padding:4px 8px; vertical-align:top; }
td.num { text-align:right; white-space:nowrap; }
code, .path { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size:12px;
              word-break:break-all; }
.paths div { margin:1px 0; }
.muted { color:var(--muted); }
.own { font-size:12px; color:var(--muted); margin-top:6px; }
footer { color:var(--muted); font-size:12px; padding:12px 32px 28px; border-top:1px solid var(--rule); }
@media print { header.top { -webkit-print-color-adjust:exact; print-color-adjust:exact; }
  .blk, .sw, .kpi, .badge { -webkit-print-color-adjust:exact; print-color-adjust:exact; } }
"""


def e(value: Any) -> str:
    """Escaped text for an element or an attribute: every value from the machine goes through here."""
    return escape(printable("" if value is None else str(value)), quote=True)


def _light(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b > 170


def _pct(fraction: float) -> str:
    return f"{max(0.0, min(1.0, fraction)) * 100:.3f}%"


def _header(report: ServerReport) -> str:
    host = report.host
    system = " ".join(str(host[k]) for k in ("system_vendor", "product_name") if host.get(k))
    ident = [
        system or None,
        f"serial {host['product_serial']}" if host.get("product_serial") else "no system serial",
        f"UUID {host['product_uuid']}" if host.get("product_uuid") else None,
        f"machine-id SHA-256 {host['machine_id_sha256'][:16]}…" if host.get("machine_id_sha256") else None,
        f"kernel {host['kernel']}" if host.get("kernel") else None,
    ]
    c = report.counts
    kpis = [
        ("bad" if c["volumes_with_ai_data"] else "good", c["volumes_with_ai_data"], "volumes hold AI data"),
        ("bad" if c["ai_artifacts"] else "good", c["ai_artifacts"], "AI artifacts"),
        ("warn" if c["volumes_not_readable"] else "", c["volumes_not_readable"], "volumes not readable (encrypted)"),
        ("", c["disks"], "disks"),
        ("", c["planned"], "planned for sanitization"),
        ("warn" if c["not_sanitized"] else "", c["not_sanitized"], "not sanitized by this run"),
    ]
    if report.executed:
        kpis.append(("good" if c["verified"] == c["planned"] else "bad", c["verified"], "sanitized and verified"))
    stage = "plan (dry run: nothing written)" if report.dry_run else ("results" if report.executed else "plan")
    return (
        '<header class="top">'
        f'<div class="brand">{e(TOOL_NAME)} · server report · {e(stage)}</div>'
        f'<h1 id="host">{e(host.get("hostname") or "unknown host")}</h1>'
        f'<div class="ident">{" · ".join(e(i) for i in ident if i)}</div>'
        '<div class="kpis">'
        + "".join(f'<div class="kpi {cls}"><b>{n:,}</b>{e(label)}</div>' for cls, n, label in kpis)
        + "</div></header>"
    )


def _legend() -> str:
    items = [(colour, words, "") for state, (colour, words) in STATES.items() if state != "ai-data"]
    items += [(colour, name, "") for name, colour in CATEGORY_COLOURS.items()]
    items.append(("#ffffff", "PROTECTED: never written by sanitize", "protected"))
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i class="sw {extra}" style="background-color:{colour}"></i>{e(words)}</span>'
            for colour, words, extra in items
        )
        + "</div>"
    )


def _disk_badge(disk: Disk) -> str:
    if disk.result:
        status = disk.result["status"]
        cls = "ok" if status == "verified" else "bad"
        return f'<span class="badge {cls}">{e(status.upper())}: {e(disk.result["method_label"])}</span>'
    if disk.plan:
        level = disk.plan["nist_level"].capitalize()
        return f'<span class="badge plan">plan: {e(disk.plan["method_label"])} ({e(level)})</span>'
    if disk.not_sanitized:
        return '<span class="badge blocked">NOT SANITIZED by this run</span>'
    return ""


def _disk(disk: Disk) -> str:
    height = disk.rows * ROW_PX + 4
    blocks = []
    for row, left, width, block in disk.layout():
        classes = ["blk", f"s-{block.state}"]
        if _light(block.colour):
            classes.append("light")
        if block.protected:
            classes.append("protected")
        title = f"{block.label}: {block.detail}"
        style = (
            f"left:{_pct(left)};width:{_pct(width)};top:{row * ROW_PX + 2}px;height:{ROW_PX - 4}px;"
            f"background-color:{block.colour}"
        )
        blocks.append(
            f'<div class="{" ".join(classes)}" style="{style}" title="{e(title)}" data-path="{e(block.path or "")}"'
            f' data-state="{e(block.state)}" data-colour="{block.colour}" data-row="{row}"'
            f' data-left="{left:.6f}" data-width="{width:.6f}">'
            f'<span class="in">{e(block.label)}<span class="sz">{e(block.tag)}</span></span></div>'
        )
    parts = []
    for depth, block in (item for b in disk.blocks for item in b.walk()):
        extra = " protected" if block.protected else ""
        parts.append(
            f'<li style="padding-left:{depth * 18}px"><i class="sw{extra}" style="background-color:{block.colour}"></i>'
            f'<span class="what">{e(block.label)}</span><span class="det">{e(block.detail)}</span></li>'
        )
    extra = ""
    if disk.not_sanitized:
        extra = (
            f'<p class="muted">Not sanitized: {e(disk.not_sanitized["why"])}. '
            f"What to do: {e(disk.not_sanitized['advice'])}.</p>"
        )
    return (
        f'<div class="disk" id="disk-{e(disk.device.name)}" data-device="{e(disk.device.path)}"'
        f' data-size="{disk.device.size_bytes}" data-scale="{disk.scale:.6f}">'
        f'<div class="disk-head"><span class="dev">{e(disk.title)}</span>{_disk_badge(disk)}'
        f'<span class="idn">{" · ".join(e(i) for i in disk.identity)}</span></div>'
        f'<div class="bar" style="width:{_pct(disk.scale)};height:{height}px">{"".join(blocks)}</div>'
        f'<ul class="parts">{"".join(parts)}</ul>{extra}</div>'
    )


def _volume(volume: Volume) -> str:
    r = volume.report
    colour = colour_of(volume.state, volume.category)
    chip = {
        "ai-data": ("bad", "AI DATA"),
        "encrypted": ("blocked", "ENCRYPTED, NOT SCANNED"),
        "not-scanned": ("blocked", "NOT SCANNED"),
        "clean": ("ok", "NO AI DATA FOUND"),
        "container": ("", "MEMBER OF ANOTHER VOLUME"),
    }.get(volume.state, ("", volume.state.upper()))
    rows = []
    for group in r.ranked_groups:
        paths = "".join(
            f'<div class="path">{e(f.path)} <span class="muted">({e(human_size(f.size_bytes))}'
            f"{', world-readable' if f.world_readable else ''})</span></div>"
            for f in group.top
        )
        if group.count > len(group.top):
            paths += f'<div class="muted">and {group.count - len(group.top):,} more</div>'
        rows.append(
            f'<tr><td><i class="sw" style="background-color:{colour_of("ai-data", group.category)}"></i> '
            f"{e(group.category)}</td><td>{e(group.format)}</td><td class='num'>{group.count:,}</td>"
            f"<td class='num'>{group.records:,}</td><td class='num'>{e(human_size(group.bytes))}</td>"
            f"<td class='num'>{group.world_readable:,}</td><td class='paths'>{paths}</td></tr>"
        )
    table = ""
    if rows:
        table = (
            "<table><thead><tr><th>Kind</th><th>Format</th><th>Items</th><th>Records</th><th>Size</th>"
            '<th title="readable by every local user (permission o+r)">World-readable</th>'
            "<th>Largest paths" + ("" if r.mounted_at else " (from the volume's root)") + "</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    own = ""
    if r.own_count:
        own = (
            f'<div class="own">Apart from the above: {r.own_count:,} of sanitize\'s own files '
            f"({e(human_size(r.own_bytes))}: its test fixtures and installation in "
            f"{e(', '.join(r.own_trees))}), not the server's data.</div>"
        )
    return (
        f'<article class="vol" id="vol-{e(r.name)}" data-device="{e(r.device)}" data-state="{e(volume.state)}"'
        f' style="--c:{colour}"><h3><i class="sw" style="background-color:{colour}"></i>{e(r.head)}'
        f'<span class="badge {chip[0]}">{e(chip[1])}</span></h3>'
        f'<p class="risk">{e(r.short_body)}</p>{table}{own}</article>'
    )


def _plan(report: ServerReport) -> str:
    rows = []
    for disk in report.disks:
        p = disk.plan
        if p is None:
            continue
        eta = "unknown" if p["expected_seconds"] is None else f"about {p['expected_seconds']:.0f} s"
        notes = "".join(f'<div class="muted">note: {e(n)}</div>' for n in p["notes"])
        rows.append(
            f"<tr><td><b>{e(disk.device.path)}</b><div class='muted'>confirm as {e(p['confirm_as'])}</div></td>"
            f"<td>{e(p['method_label'])}<div class='muted'><code>{e(p['method'])}</code></div></td>"
            f"<td>{e(p['nist_level'].capitalize())}</td><td>{e(p['standard_line'])}</td><td>{e(eta)}</td>"
            f"<td>{e(p['why'])}{notes}</td></tr>"
        )
    out = "<h2 id='plan'>Plan</h2>"
    if rows:
        out += (
            "<table><thead><tr><th>Device</th><th>Method</th><th>Level</th><th>Standard</th><th>Expected</th>"
            f"<th>Why</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    else:
        out += "<p>Nothing is planned: every device is protected, excluded or not storage.</p>"
    blocked = [d for d in report.disks if d.not_sanitized]
    if blocked:
        out += "<h3>Not sanitized by this run</h3><table><thead><tr><th>Device</th><th>Why</th><th>What to do</th>"
        out += "</tr></thead><tbody>"
        for disk in blocked:
            ns = disk.not_sanitized or {}
            out += f"<tr><td><b>{e(disk.device.path)}</b></td><td>{e(ns.get('why'))}</td><td>{e(ns.get('advice'))}</td>"
            out += "</tr>"
        out += "</tbody></table>"
    if report.excluded:
        out += f"<p class='muted'>Excluded with --exclude: {e(', '.join(report.excluded))}</p>"
    return out


def _results(report: ServerReport, path: str) -> str:
    if not report.executed:
        return ""
    rows = []
    for disk in report.disks:
        res = disk.result
        if res is None:
            continue
        doc = res.get("document")
        paper = "no certificate"
        if doc:
            kind = "Certificate" if doc["kind"] == "certificate" else "FAILURE REPORT"
            paper = (
                f'<a href="{e(relative_link(doc["pdf"], path))}">{kind} (PDF)</a> · '
                f'<a href="{e(relative_link(doc["json"], path))}">signed JSON</a>'
                f"<div class='muted'><code>{e(doc['certificate_id'])}</code></div>"
            )
        cls = "ok" if res["status"] == "verified" else "bad"
        errors = "".join(f"<div class='muted'>error: {e(x)}</div>" for x in res["errors"])
        rows.append(
            f"<tr><td><b>{e(disk.device.path)}</b></td><td><span class='badge {cls}'>{e(res['status'].upper())}"
            f"</span>{errors}</td><td>{e(res['method_label'])} ({e(res['nist_level'].capitalize())})</td>"
            f"<td>{e(res['verification'])}</td><td>{paper}</td></tr>"
        )
    out = (
        "<h2 id='results'>Results</h2><table><thead><tr><th>Device</th><th>Status</th><th>Method</th>"
        f"<th>Verification</th><th>Document</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if report.summary_pdf:
        out += f'<p>Host summary: <a href="{e(relative_link(report.summary_pdf, path))}">signed PDF</a></p>'
    if report.archive is not None:
        ok = "verified" if report.archive.get("ok") else "DID NOT VERIFY"
        out += f"<p>Archive: {e(report.archive.get('path'))} ({e(report.archive.get('size'))} entries, {ok})</p>"
    return out


def render(report: ServerReport, path: str) -> str:
    """The whole page; `path` is where it will be written (links to certificates are relative to it)."""
    host = report.host.get("hostname") or "unknown host"
    volumes = "".join(_volume(v) for v in report.volumes) or "<p>No volume was scanned.</p>"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{e(TOOL_NAME)} {e(__version__)}">'
        f"<title>Server report: {e(host)}</title><style>{STYLE}</style></head><body>"
        + _header(report)
        + "<main><h2 id='server'>The server at a glance</h2>"
        "<p class='muted'>Each disk is drawn to scale as a bar of its partitions, with what is built on them "
        "(LUKS, LVM, RAID, filesystems) in the rows below; its colour says what AI data it holds. "
        "Bar lengths follow capacity (at least a quarter of the widest, to stay readable).</p>"
        + _legend()
        + "".join(_disk(d) for d in report.disks)
        + f"<h2 id='findings'>AI data by volume{' (found before sanitization)' if report.executed else ''}</h2>"
        + volumes
        + _plan(report)
        + _results(report, path)
        + "</main><footer>"
        f"Generated {e(report.generated_at)} by {e(TOOL_NAME)} {e(__version__)}. This report lists names, sizes, "
        "kinds, counts, hashes and paths only: never the contents of a file. It is self-contained (no "
        "scripts, fonts or network access). Certificates, not this report, are the signed record of a "
        "sanitization.</footer></body></html>\n"
    )
