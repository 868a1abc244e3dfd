"""The job a booted live image runs: from the kernel command line and `job.toml` on the config
partition (the command line wins, value by value).

    sanitize.job=inventory|decommission|console|shell
    sanitize.confirm=SERIAL,...   sanitize.only=DEV,...   sanitize.exclude=DEV,...
    sanitize.method=auto|NAME     sanitize.verify=sample|full
    sanitize.collect=URL          sanitize.org="Example Corp IT"
    sanitize.after=poweroff|reboot|shell   sanitize.settle=SECONDS

`console` and `shell` are interactive and are chosen on the kernel command line only (a boot menu
entry): a job file on an unattended USB stick never waits for someone to type.
Unknown keys are refused, so a misspelt `exclude` cannot silently widen a decommission.
"""

from __future__ import annotations

import tomllib
import urllib.parse
from dataclasses import dataclass, field, fields
from typing import Any

from sanitize.errors import BadInput

KINDS = ("inventory", "decommission", "console", "shell")
INTERACTIVE = ("console", "shell")
AFTER = ("poweroff", "reboot", "shell")
VERIFY = ("sample", "full")
COLLECT_SCHEMES = ("rsync", "sftp", "https")
PREFIX = "sanitize."
LIST_KEYS = ("confirm", "only", "exclude")


@dataclass(frozen=True)
class Job:
    kind: str = "inventory"
    confirm: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    method: str = "auto"
    verify: str = "sample"
    collect: str | None = None
    org: str | None = None
    after: str = "poweroff"
    settle: float = 10.0
    # Where each value that is not a default came from: "kernel command line" or "job.toml".
    origin: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def interactive(self) -> bool:
        return self.kind in INTERACTIVE

    @property
    def writes(self) -> bool:
        """Whether the job may write at all (an inventory writes nothing, anywhere)."""
        return self.kind in ("decommission", "console")

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in LIST_KEYS:
            doc[key] = list(doc[key])
        return doc


KEYS = ("job", *(f.name for f in fields(Job) if f.name not in ("origin", "kind")))


def parse_cmdline(text: str) -> dict[str, str]:
    """`sanitize.*` parameters of a kernel command line; double quotes group words, as in the kernel."""
    words: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text.strip():
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    params: dict[str, str] = {}
    for word in words:
        if not word.startswith(PREFIX):
            continue
        key, _, value = word[len(PREFIX) :].partition("=")
        if key not in KEYS:
            raise BadInput(f"kernel command line: unknown parameter {PREFIX}{key} (known: {', '.join(KEYS)})")
        params[key] = value
    return params


def parse_job_file(text: str, source: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{source}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise BadInput(f"{source}: unknown keys {', '.join(unknown)} (known: {', '.join(KEYS)})")
    return data


def _as_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        raise BadInput(f"{source}: {key} must be a list of strings or a comma-separated string")
    return tuple(items)


def _check_collect(url: str, source: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in COLLECT_SCHEMES or not parsed.hostname:
        raise BadInput(f"{source}: collect must be an rsync://, sftp:// or https:// URL with a host, not {url!r}")
    return url


def build_job(cmdline: str, job_file: str | None = None, file_source: str = "job.toml") -> Job:
    """The job: defaults, then the job file, then the kernel command line."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if job_file is not None:
        for key, value in parse_job_file(job_file, file_source).items():
            values[key], origin[key] = value, file_source
    for key, value in parse_cmdline(cmdline).items():
        values[key], origin[key] = value, "kernel command line"

    def src(key: str) -> str:
        return origin.get(key, "default")

    kind = str(values.pop("job", "inventory"))
    if kind not in KINDS:
        raise BadInput(f"{src('job')}: job must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind in INTERACTIVE and src("job") != "kernel command line":
        raise BadInput(f"{src('job')}: job {kind!r} is interactive: choose it on the kernel command line (boot menu)")
    if "job" in origin:
        origin["kind"] = origin.pop("job")
    job: dict[str, Any] = {"kind": kind}
    for key in LIST_KEYS:
        if key in values:
            job[key] = _as_list(values[key], key, src(key))
    for key in ("method", "org"):
        if key in values:
            if not isinstance(values[key], str) or not values[key].strip():
                raise BadInput(f"{src(key)}: {key} must be a non-empty string")
            job[key] = values[key].strip()
    if "verify" in values:
        if values["verify"] not in VERIFY:
            raise BadInput(f"{src('verify')}: verify must be one of {', '.join(VERIFY)}")
        job["verify"] = values["verify"]
    if "after" in values:
        if values["after"] not in AFTER:
            raise BadInput(f"{src('after')}: after must be one of {', '.join(AFTER)}")
        job["after"] = values["after"]
    if "collect" in values:
        job["collect"] = _check_collect(str(values["collect"]), src("collect"))
    if "settle" in values:
        try:
            settle = float(values["settle"])
        except (TypeError, ValueError):
            raise BadInput(f"{src('settle')}: settle must be a number of seconds") from None
        if not 0 <= settle <= 600:
            raise BadInput(f"{src('settle')}: settle must be between 0 and 600 seconds")
        job["settle"] = settle
    if kind == "decommission" and not job.get("confirm"):
        raise BadInput(f"{src('job')}: a decommission job needs confirm = the serials to erase (from an inventory run)")
    return Job(**job, origin=origin)
