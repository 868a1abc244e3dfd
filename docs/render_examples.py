#!/usr/bin/env python3
"""Render one of each document users read to PNG under docs/images/, so reviewers see them.

    .venv/bin/python docs/render_examples.py            # rewrites docs/images/*.png
    .venv/bin/python docs/render_examples.py --out DIR  # somewhere else (the tests do this)

Run from the checkout. It signs with a throw-away key in a temporary state directory and uses
the recorded results in tests/unit/data/ and the example server of tests/support/server.py:
a certificate (a loop device without a serial: the hardest to identify), a failure report, a
host summary with a device left out, and the server report as HTML (rendered by headless
Chromium, `apt-get install chromium`) and as PDF (rendered by poppler's pdftoppm). Needs no
root and touches no device.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

IMAGES = os.path.join(ROOT, "docs", "images")
WIDTH = 1000  # pixels: wide enough to read, small enough to keep in git


def pdf_page_png(pdf: str, png: str, page: int = 1) -> str:
    stem = png.removesuffix(".png")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "90", "-f", str(page), "-l", str(page), "-singlefile", pdf, stem],
        check=True,
        timeout=120,
    )
    return shrink(png)


def shrink(png: str) -> str:
    from PIL import Image

    with Image.open(png) as image:
        image = image.convert("RGB")
        if image.width > WIDTH:
            image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.LANCZOS)
        # 256 colours are plenty for documents and keep the files small in git.
        image.quantize(colors=256, dither=Image.Dither.NONE).save(png, optimize=True)
    return png


def render(out: str) -> dict[str, str]:
    """Write the example PNGs into `out`; returns {name: path}."""
    from sanitize.certify.issue import issue_host_summary
    from sanitize.server_report import build, write_server_report
    from tests.support import browser
    from tests.support.certify import erase_result, issue, state_with_keys
    from tests.support.server import decommission

    os.makedirs(out, exist_ok=True)
    made: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="sanitize-examples-") as work:
        state = state_with_keys(os.path.join(work, "state"), org="Example Corp IT")
        certs = os.path.join(work, "certificates")
        cert = issue(state, certs, "erase_loop_overwrite.json")
        luks = issue(state, certs, "erase_luks_loop.json")
        failure = issue(state, certs, "erase_failed.json")
        made["certificate"] = pdf_page_png(cert.pdf_path, os.path.join(out, "certificate.png"))
        made["failure-report"] = pdf_page_png(failure.pdf_path, os.path.join(out, "failure-report.png"))
        results = [
            erase_result("erase_loop_overwrite.json", id=cert.result_id),
            erase_result("erase_luks_loop.json", id=luks.result_id),
        ]
        left_out = {
            "device": dict(
                results[0]["device"], path="/dev/loop5", name="loop5", backing_file="/var/lib/lab/system.img"
            ),
            "why": "protected: mounted at /srv/system",
            "advice": "stop what uses it and unmount it, then run the same command",
        }
        summary = issue_host_summary(
            results, state=state, issued=[cert, luks], output_dir=certs, not_sanitized=[left_out]
        )
        made["host-summary"] = pdf_page_png(summary, os.path.join(out, "host-summary.png"))
        html_path, pdf_path = write_server_report(
            build(decommission(), dry_run=True), os.path.join(work, "report.html")
        )
        made["report-pdf"] = pdf_page_png(pdf_path, os.path.join(out, "report-pdf.png"))
        rendered = browser.render(html_path, work)
        png = os.path.join(out, "report.png")
        rendered.image.save(png)
        made["report"] = shrink(png)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=IMAGES, help="directory for the PNGs (default: docs/images)")
    args = parser.parse_args()
    for name, path in render(args.out).items():
        print(f"{name:15} {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
