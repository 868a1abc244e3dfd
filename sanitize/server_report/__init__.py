"""The server report a person reads first: one self-contained HTML file and the same as PDF.

`write_report(dc, html_path)` draws a decommission run (planned or done) into `html_path` and the
PDF next to it (same name, `.pdf`), both 0600 since they list paths of the server's AI data.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sanitize.server_report.model import REPORT_SCHEMA, ServerReport, build, relocate
from sanitize.state import write_private

if TYPE_CHECKING:
    from sanitize.decommission import Decommission

__all__ = ["REPORT_SCHEMA", "ServerReport", "build", "pdf_path_for", "write_report", "write_server_report"]


def pdf_path_for(html_path: str) -> str:
    root, ext = os.path.splitext(html_path)
    return (root if ext.lower() in (".html", ".htm") else html_path) + ".pdf"


def write_server_report(report: ServerReport, html_path: str) -> tuple[str, str]:
    from sanitize.server_report import html, pdf  # reportlab only when a report is written

    html_path = os.path.abspath(html_path)
    pdf_path = pdf_path_for(html_path)
    write_private(html_path, html.render(report, html_path).encode("utf-8"))
    write_private(pdf_path, pdf.render(report, pdf_path))
    return html_path, pdf_path


def write_report(
    dc: Decommission, html_path: str, *, dry_run: bool, certificates_copied_to: str | None = None
) -> tuple[str, str]:
    """`certificates_copied_to`: the run's certificate directory was copied there (a live run's
    results), and the report links to those copies."""
    report = build(dc, dry_run=dry_run)
    if certificates_copied_to is not None and dc.certificate_dir:
        relocate(report, dc.certificate_dir, certificates_copied_to)
    return write_server_report(report, html_path)
