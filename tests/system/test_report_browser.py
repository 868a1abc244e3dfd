"""The server report in a real browser: headless Chromium renders it to PNG, and the PNG is checked.

The layout (each element's rectangle) comes from Chromium itself; the pixels from its
screenshot of the unmodified file. What users must see is checked there: every disk's bar
present and sized to scale, each block where its offset says and in its colour, every
device's name drawn, and, on the `sanitize lab` server, the unmounted cache volume's AI data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sanitize import lab as labmod
from sanitize.hw.linux import LinuxHost
from sanitize.server_report import build, write_server_report
from sanitize.server_report.html import ROW_PX
from sanitize.server_report.model import CATEGORY_COLOURS, STATES
from tests.support import browser
from tests.support.server import decommission

PX = 1.5  # layout tolerance in pixels (borders, rounding)


@pytest.fixture(scope="module")
def need_chromium() -> None:
    if browser.chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")


def by_path(rendered: browser.Rendered) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for block in rendered.layout["blocks"]:
        out.setdefault(block["path"], []).append(block)
    return out


def check_common(rendered: browser.Rendered) -> None:
    """What holds for any report: bars to scale, blocks in place and colour, every name drawn."""
    layout = rendered.layout
    assert layout["width"] <= browser.WIDTH, "the page must not scroll sideways"
    widest = max(d["bar"][2] for d in layout["disks"])
    for disk in layout["disks"]:
        left, top, width, height = disk["bar"]
        assert width > 100 and height >= ROW_PX, disk
        assert width == pytest.approx(widest * disk["scale"], abs=PX), f"{disk['device']}: bar not to scale"
        assert disk["head"] and rendered.ink(disk["head"]) > 0.03, f"{disk['device']}: its name is not drawn"
        assert disk["head"][0] + disk["head"][2] <= browser.WIDTH, f"{disk['device']}: name off the page"
    bars = {d["device"]: d["bar"] for d in layout["disks"]}
    for block in layout["blocks"]:
        bar_left, bar_top, bar_width, _ = bars[block["disk"]]
        inner = bar_width - 2  # the bar's 1 px border
        left, top, width, height = block["rect"]
        assert left == pytest.approx(bar_left + 1 + block["left"] * inner, abs=PX), block
        assert width == pytest.approx(max(3, block["width"] * inner), abs=PX), block
        assert top == pytest.approx(bar_top + 1 + block["row"] * ROW_PX + 2, abs=PX), block
        if block["state"] != "free" and width > 12:
            assert block["colour"] == STATES[block["state"]][0] or block["state"] == "ai-data", block
            assert rendered.has_colour(block["rect"], block["colour"]), block
    for part in layout["parts"]:  # the list under each bar: every block's name and details, in full
        assert part["what"] and rendered.ink(part["what"]) > 0.03, part["text"]
        assert part["det"] and part["det"][0] + part["det"][2] <= browser.WIDTH + PX, part["text"]


def test_browser_draws_the_server_to_scale(need_chromium: None, tmp_path: Path) -> None:
    html_path, _ = write_server_report(build(decommission(), dry_run=True), str(tmp_path / "server.html"))
    rendered = browser.render(html_path, str(tmp_path))
    check_common(rendered)
    blocks = by_path(rendered)
    (p3,) = blocks["/dev/nvme0n1p3"]
    (models,) = blocks["/dev/dm-1"]
    (rag,) = blocks["/dev/dm-2"]
    # Logical volumes sit in the row below their physical volume, in proportion to their size.
    assert models["rect"][1] == pytest.approx(p3["rect"][1] + ROW_PX, abs=PX)
    assert models["rect"][0] == pytest.approx(p3["rect"][0], abs=PX)
    assert models["rect"][2] / p3["rect"][2] == pytest.approx(0.6, abs=0.02)
    assert rag["rect"][0] == pytest.approx(models["rect"][0] + models["rect"][2], abs=PX)
    assert len(blocks["/dev/md0"]) == 2  # the RAID1 array on each of its two members
    (p1,) = blocks["/dev/nvme0n1p1"]
    assert p1["rect"][2] > 6, "a 512 MiB EFI partition on 1 TiB must still be visible"
    (root,) = blocks["/dev/dm-0"]
    assert root["protected"] and rendered.has_colour(root["rect"], CATEGORY_COLOURS["prompt-log"])
    assert rendered.ink(root["rect"]) > 0.2, "a protected block is hatched"
    volumes = {v["device"]: v for v in rendered.layout["volumes"]}
    assert '<script>alert("x")</script>' in volumes["/dev/loop7"]["text"]  # shown as text, not run


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labmod.LabState]:
    directory = str(tmp_path_factory.mktemp("reportlab") / "lab")
    state = labmod.up(LinuxHost(), directory)
    try:
        yield state
    finally:
        labmod.down(LinuxHost(), directory, remove_state=True)


@pytest.mark.root
def test_lab_report_shows_the_unmounted_cache_volume_at_a_glance(
    need_chromium: None, lab: labmod.LabState, tmp_path: Path
) -> None:
    out = tmp_path / "lab.html"
    proc = subprocess.run(
        [sys.executable, "-m", "sanitize", "report", "--json", "-o", str(out), *lab.devices()],
        capture_output=True,
        text=True,
        env=dict(os.environ, SANITIZE_STATE_DIR=lab.state_dir, LC_ALL="C"),
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    page = out.read_text(encoding="utf-8")
    pdf_text = subprocess.run(["pdftotext", doc["pdf"], "-"], capture_output=True, text=True, check=True).stdout
    for text in (page, pdf_text, proc.stdout):
        assert labmod.MEMO_MARKER not in text and "settlement strategy" not in text  # never content

    rendered = browser.render(str(out), str(tmp_path))
    check_common(rendered)
    cache, data, vault, system = (lab.volume(r).loop for r in ("cache", "data", "vault", "system"))
    bars = {d["device"]: d for d in rendered.layout["disks"]}
    assert set(bars) == set(lab.devices())
    assert bars[cache]["bar"][2] / bars[data]["bar"][2] == pytest.approx(40 / 48, abs=0.01)
    assert bars[vault]["bar"][2] / bars[data]["bar"][2] == pytest.approx(24 / 48, abs=0.01)

    # At a glance: the cache volume's block is in the vector store's colour and says, inside the
    # block itself, that it is not mounted and holds AI data.
    (block,) = by_path(rendered)[cache]
    assert block["state"] == "ai-data"
    assert rendered.has_colour(block["rect"], CATEGORY_COLOURS["vector-store"], tolerance=4)
    assert "not mounted" in block["tag_text"] and "AI DATA: 2 (vector-store, model-weights)" in block["tag_text"]
    assert not block["clipped"] and rendered.ink(block["tag"]) > 0.05
    tag_right = block["tag"][0] + block["tag"][2]
    assert tag_right <= block["rect"][0] + block["rect"][2], "the words must fit inside the block"
    heads = {d["device"]: d["head_text"] for d in rendered.layout["disks"]}
    assert "cache.img" in heads[cache]
    volumes = {v["device"]: v for v in rendered.layout["volumes"]}
    assert volumes[cache]["state"] == "ai-data" and "/rag/memos.sqlite" in volumes[cache]["text"]
    assert volumes[vault]["state"] == "encrypted"
    (system_block,) = by_path(rendered)[system]
    assert system_block["protected"] and rendered.has_colour(system_block["rect"], STATES["clean"][0])


def test_every_document_people_read_renders_to_png(need_chromium: None, tmp_path: Path) -> None:
    """docs/render_examples.py: a certificate, a failure report, a host summary and the report (HTML and PDF)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs"))
    try:
        import render_examples  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    from PIL import Image

    made = render_examples.render(str(tmp_path / "images"))
    assert set(made) == {"certificate", "failure-report", "host-summary", "report", "report-pdf"}
    for name, path in made.items():
        with Image.open(path) as image:
            assert 700 <= image.width <= render_examples.WIDTH and image.height > 1000, (name, image.size)
            rendered = browser.Rendered({}, image.convert("RGB"))
            assert rendered.ink([0, 0, image.width, image.height]) > 0.02, f"{name}: nearly blank"
