"""`sanitize report`: where the server report was written, and its content (`sanitize.server-report/1`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sanitize.server_report import ServerReport


@dataclass(frozen=True)
class ServerReportWritten:
    report: ServerReport
    html_path: str
    pdf_path: str

    def document(self) -> dict[str, Any]:
        return self.report.to_dict() | {"html": self.html_path, "pdf": self.pdf_path}

    def text(self) -> str:
        return f"report: {self.html_path}\n        {self.pdf_path}"
