"""Headless Chromium for the report's tests: a PNG of the page as users see it, and its layout.

`render(html)` runs Debian's `chromium` twice on the same page at the same width: once on an
instrumented copy whose script (CSP removed, nothing else changed) writes each element's
rectangle into the DOM for `--dump-dom`, and once on the unmodified file for the screenshot,
so tests can check pixels where the layout says things are. Flags keep it off the network
and quick on a closed machine; every run has a fresh profile and a hard timeout.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

TIMEOUT = 120  # seconds per browser run; a loaded CI machine takes a few
WIDTH = 1280
FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)

MEASURE = """
<script>
(function () {
  const rect = (e) => { if (!e) return null; const b = e.getBoundingClientRect();
                        return [b.left, b.top, b.width, b.height]; };
  const text = (e) => { if (!e) return null;
    const n = [...e.childNodes].find((c) => c.nodeType === 3 && c.textContent.trim());
    if (!n) return null; const r = document.createRange(); r.selectNodeContents(n); return rect(r); };
  const out = { height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth,
                disks: [], blocks: [], parts: [], volumes: [] };
  document.querySelectorAll(".disk").forEach((d) => out.disks.push({
    device: d.dataset.device, scale: +d.dataset.scale, bar: rect(d.querySelector(".bar")),
    head: text(d.querySelector(".disk-head .dev")), head_text: d.querySelector(".disk-head .dev").textContent }));
  document.querySelectorAll(".blk").forEach((b) => { const sz = b.querySelector(".sz"); out.blocks.push({
    path: b.dataset.path, state: b.dataset.state, colour: b.dataset.colour, row: +b.dataset.row, left: +b.dataset.left,
    width: +b.dataset.width, disk: b.closest(".disk").dataset.device, rect: rect(b), label: text(b.firstChild),
    tag: text(sz), tag_text: sz.textContent, clipped: sz.scrollWidth > sz.clientWidth,
    protected: b.classList.contains("protected") }); });
  document.querySelectorAll("ul.parts li").forEach((li) => out.parts.push({
    disk: li.closest(".disk").dataset.device, text: li.textContent, what: text(li.querySelector(".what")),
    det: text(li.querySelector(".det")) }));
  document.querySelectorAll("article.vol").forEach((v) => out.volumes.push({
    device: v.dataset.device, state: v.dataset.state, rect: rect(v), text: v.textContent }));
  const pre = document.createElement("pre"); pre.id = "layout"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """One browser run in its own session, so a timeout kills its helper processes too."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        full = [*argv[:1], *FLAGS, f"--user-data-dir={profile}", *argv[1:]]
        proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(f"chromium did not finish within {TIMEOUT} s: {' '.join(argv[1:])}") from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything the browser left behind
    return subprocess.CompletedProcess(full, proc.returncode, out, err)


@dataclass
class Rendered:
    layout: dict[str, Any]
    image: Image.Image

    def pixels(self, rect: list[float]) -> np.ndarray:
        """The RGB pixels inside `rect` ([left, top, width, height] in CSS pixels), one row each."""
        left, top, width, height = rect
        box = (round(left), round(top), round(left + width), round(top + height))
        return np.asarray(self.image.convert("RGB").crop(box), dtype=np.int16).reshape(-1, 3)

    def has_colour(self, rect: list[float], colour: str, tolerance: int = 12) -> bool:
        """Some pixel in `rect` is `colour` (#rrggbb) within `tolerance` per channel."""
        want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
        pixels = self.pixels(rect)
        return bool(len(pixels)) and bool((np.abs(pixels - want) <= tolerance).all(axis=1).any())

    def ink(self, rect: list[float]) -> float:
        """Fraction of pixels in `rect` unlike its most common colour: text drawn there shows as ink."""
        pixels = self.pixels(rect)
        if not len(pixels):
            return 0.0
        colours, counts = np.unique(pixels, axis=0, return_counts=True)
        background = colours[counts.argmax()]
        return float((np.abs(pixels - background).sum(axis=1) > 96).mean())


def render(html_path: str, workdir: str) -> Rendered:
    """The page's layout (from the instrumented copy) and its screenshot (of the file as written)."""
    browser = chromium()
    assert browser is not None, "chromium is not installed (apt-get install chromium; .ci/run installs it)"
    with open(html_path, encoding="utf-8") as fh:
        page = fh.read()
    instrumented = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page, count=1)
    instrumented = instrumented.replace("</body>", MEASURE + "</body>", 1)
    probe = os.path.join(workdir, "measure.html")
    with open(probe, "w", encoding="utf-8") as fh:
        fh.write(instrumented)
    dumped = _run([browser, f"--window-size={WIDTH},2000", "--dump-dom", f"file://{probe}"])
    found = re.search(r'<pre id="layout">(.*?)</pre>', dumped.stdout, re.DOTALL)
    assert found, f"no layout from chromium (rc {dumped.returncode}): {dumped.stderr[-2000:]}"
    layout = json.loads(html.unescape(found.group(1)))
    png = os.path.join(workdir, "page.png")
    height = min(int(layout["height"]) + 10, 16000)
    shot = _run([browser, f"--window-size={WIDTH},{height}", f"--screenshot={png}", f"file://{html_path}"])
    assert os.path.isfile(png), f"no screenshot (rc {shot.returncode}): {shot.stderr[-2000:]}"
    image = Image.open(png)
    image.load()
    return Rendered(layout, image)
