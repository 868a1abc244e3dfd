"""`decommission.execute` without root: a fake erase runner, real certificates and archive."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence

from sanitize.certify.keys import init_keys
from sanitize.decommission import LIVE_MEDIUM, Blocked, Decommission, execute, exit_code
from sanitize.erase import EraseOptions, EraseResult, Plan, Verification, new_result
from sanitize.errors import ExitCode, SanitizeError
from sanitize.inventory.model import DeviceTree
from sanitize.inventory.volumes import VolumeReport
from sanitize.report.decommission import DecommissionOutcome
from sanitize.state import StateDir
from tests.support.fake_host import FakeHost
from tests.unit.test_decommission_unit import device


def test_one_verified_one_not_started_gives_a_certificate_a_failure_report_and_exit_7(
    tmp_path: os.PathLike[str],
) -> None:
    state = StateDir(os.path.join(str(tmp_path), "state"))
    init_keys(state, "Unit Test Org")
    good = device("sdb", serial="WD-22", type="disk")
    bad = device("sdc", serial="WD-33", type="disk")
    plans = [Plan(d, "overwrite", "clear", (), (), (), 1.0, "test", EraseOptions()) for d in (good, bad)]
    system = device("nvme0n1", serial="S5GX", type="disk", protected=True, protected_reasons=("holds /",))
    cache = VolumeReport("/dev/sdb", "sdb", "ext4", None, scanned=True, artifact_count=1)
    cache.summary = {"vector-store": {"count": 1, "bytes": 4096}}
    vault = VolumeReport("/dev/sdc", "sdc", "crypto_LUKS", None, encrypted="LUKS")
    blocked = [Blocked(system, "protected: holds /", LIVE_MEDIUM)]
    dc = Decommission({"hostname": "gpu-07"}, DeviceTree((good, bad, system)), [cache, vault], plans, blocked, [])
    host = FakeHost()

    def fake_run_all(to_run: Sequence[Plan]) -> tuple[list[EraseResult], list[SanitizeError]]:
        result = new_result(to_run[0], host)
        result.passes, result.pattern, result.bytes_written = 1, "random", good.size_bytes
        result.verification = Verification("sample", 0.1, good.size_bytes // 10, "passed")
        return [result.finish()], [SanitizeError("/dev/sdc: device busy")]

    execute(dc, state=state, host=host, run_all=fake_run_all)

    assert [r.status for r in dc.results] == ["verified", "failed"]
    assert [d.kind for d in dc.issued] == ["certificate", "failure-report"]
    assert dc.issued[0].document["artifacts_before"]["categories"]["vector-store"]["count"] == 1
    # The encrypted volume is recorded as not read, so the failure report cannot say "none found".
    (vol,) = dc.issued[1].document["artifacts_before"]["volumes"]
    assert vol == {
        "device": "/dev/sdc",
        "fstype": "crypto_LUKS",
        "state": "encrypted",
        "why": "encrypted (LUKS)",
        "files_seen": 0,
    }
    assert dc.summary_pdf and os.path.isfile(dc.summary_pdf)
    assert dc.archive and dc.archive["ok"] and dc.archive["size"] == 3  # two documents and the host summary
    assert exit_code(dc) == ExitCode.FAILED
    doc = DecommissionOutcome(dc).document()
    assert doc["status"] == "failed" and doc["exit_code"] == 7 and doc["host_complete"] is False
    assert "device busy" in dc.results[1].errors[0].error

    # The host summary lists the device left out too; the report after the run links each document.
    from sanitize.certify.verify import load_any
    from sanitize.server_report import build, write_report, write_server_report

    summary, _ = load_any(dc.summary_pdf)
    assert [(d["path"], d["outcome"]) for d in summary["devices"]] == [
        ("/dev/sdb", "verified"),
        ("/dev/sdc", "failed"),
        ("/dev/nvme0n1", "not-sanitized"),
    ]
    assert dc.certificate_dir
    html_path, _ = write_server_report(build(dc, dry_run=False), os.path.join(dc.certificate_dir, "report.html"))
    with open(html_path, encoding="utf-8") as fh:
        page = fh.read()
    links = re.findall(r'href="([^"]+)"', page)
    assert {os.path.basename(d.pdf_path) for d in dc.issued} <= set(links)
    assert all(os.path.isfile(os.path.join(dc.certificate_dir, link)) for link in links)
    assert "found before sanitization" in page and "FAILED" in page

    # A live run copies the certificates into its results and writes the report beside them.
    results = os.path.join(str(tmp_path), "results")
    shutil.copytree(dc.certificate_dir, os.path.join(results, "certificates"))
    copies = os.path.join(results, "certificates")
    moved, _ = write_report(dc, os.path.join(results, "report.html"), dry_run=False, certificates_copied_to=copies)
    with open(moved, encoding="utf-8") as fh:
        moved_links = re.findall(r'href="([^"]+)"', fh.read())
    assert len(moved_links) == len(links) and all(link.startswith("certificates/") for link in moved_links)
    assert all(os.path.isfile(os.path.join(results, link)) for link in moved_links)
