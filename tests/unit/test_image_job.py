"""The live image's job: kernel command line over job.toml, and nothing unknown accepted."""

from __future__ import annotations

import pytest

from sanitize.errors import BadInput
from sanitize.image.job import Job, build_job, parse_cmdline


def test_no_job_anywhere_is_an_inventory() -> None:
    job = build_job("BOOT_IMAGE=/live/vmlinuz console=ttyS0 quiet")
    assert job == Job()
    assert job.kind == "inventory" and not job.writes and not job.interactive


def test_the_kernel_command_line_names_the_job() -> None:
    job = build_job(
        'console=ttyS0 sanitize.job=decommission sanitize.confirm=S1,S2 sanitize.org="Example Corp IT" '
        "sanitize.collect=rsync://collector/results/ sanitize.settle=2.5 sanitize.after=reboot"
    )
    assert job.kind == "decommission" and job.writes
    assert job.confirm == ("S1", "S2")
    assert job.org == "Example Corp IT"
    assert job.collect == "rsync://collector/results/"
    assert job.settle == 2.5 and job.after == "reboot"
    assert job.origin["kind"] == "kernel command line"


def test_the_command_line_wins_over_the_job_file_value_by_value() -> None:
    text = 'job = "decommission"\nconfirm = ["S1", "S2"]\nexclude = ["S9"]\nverify = "full"\n'
    job = build_job("sanitize.job=inventory", text, "job.toml on /dev/sdc3")
    assert job.kind == "inventory"
    assert job.confirm == ("S1", "S2") and job.exclude == ("S9",) and job.verify == "full"
    assert job.origin == {
        "kind": "kernel command line",
        "confirm": "job.toml on /dev/sdc3",
        "exclude": "job.toml on /dev/sdc3",
        "verify": "job.toml on /dev/sdc3",
    }


@pytest.mark.parametrize(
    ("cmdline", "job_file", "message"),
    [
        ("sanitize.exlude=S1", None, "unknown parameter sanitize.exlude"),
        ("", 'job = "decommission"\nexlude = ["S1"]\nconfirm = ["S2"]\n', "unknown keys exlude"),
        ("", "job = [", "not valid TOML"),
        ("sanitize.job=wipe-everything", None, "job must be one of"),
        ("sanitize.job=decommission", None, "needs confirm"),
        ("", 'job = "console"\n', "interactive"),
        ("sanitize.verify=none", None, "verify must be one of"),
        ("sanitize.after=halt", None, "after must be one of"),
        ("sanitize.settle=forever", None, "settle must be a number"),
        ("sanitize.settle=9999", None, "between 0 and 600"),
        ("sanitize.collect=ftp://host/x", None, "rsync://, sftp:// or https://"),
        ("sanitize.collect=https:///nohost", None, "with a host"),
        ("", "confirm = 5\n", "list of strings"),
        ("", 'org = ""\n', "non-empty string"),
    ],
)
def test_bad_jobs_are_one_line_errors(cmdline: str, job_file: str | None, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        build_job(cmdline, job_file)
    assert "\n" not in caught.value.one_line()


def test_interactive_jobs_come_from_the_boot_menu_only() -> None:
    assert build_job("sanitize.job=console").interactive
    assert build_job("sanitize.job=shell").kind == "shell"


def test_quoted_values_keep_their_spaces_and_other_parameters_are_ignored() -> None:
    params = parse_cmdline('root=/dev/ram0 sanitize.org="A B  C" init=/init sanitize.only=/dev/sda,/dev/sdb')
    assert params == {"org": "A B  C", "only": "/dev/sda,/dev/sdb"}


def test_to_dict_is_plain_json() -> None:
    doc = build_job("sanitize.job=decommission sanitize.confirm=S1").to_dict()
    assert doc["kind"] == "decommission" and doc["confirm"] == ["S1"] and doc["only"] == []
