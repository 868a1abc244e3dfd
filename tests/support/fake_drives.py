"""Fake drives at the command boundary, for success paths nothing on this machine emulates.

`FakeDrives` is a `Host` runner: it answers `nvme`, `hdparm`, `sg_*` argv the way the real
tools print (fed with `fixtures/devices/` outputs), and models each drive's state machine:
NVMe Sanitize (idle -> in progress with SPROG steps -> success or failed, or stuck), ATA
Security (frozen, enabled, locked, count expired) and ATA Sanitize (including the MX500 trap
where hdparm prints "bad/missing sense data" and the drive stays idle), SCSI SANITIZE, and
a TCG Opal drive's locking state and PSID revert through `sedutil-cli`.
A successful erase really changes the bytes of the drive's data file (or loop device), so
the read-back verification runs for real. Plug in with `FakeHost(runner=FakeDrives(...))`
(tests/support/fake_host.py). Other programs go to `others`, which refuses them unless the
test passes a runner.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanitize.errors import ToolMissing
from sanitize.hw import commands
from sanitize.hw.commands import CommandLog, CommandResult
from sanitize.purge.capabilities.nvme import parse_id_ctrl
from tests.support.fake_host import no_commands

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "devices"
FAKED = {"nvme", "hdparm", "sg_opcodes", "sg_inq", "sg_readcap", "sg_sanitize", "sg_requests", "sedutil-cli"}
PSID_FLAG = "--yesIreallywanttoERASEALLmydatausingthePSID"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def scramble(path: str, fill: bytes | None = b"\0") -> None:
    """What a successful firmware erase leaves behind: zeros (deallocated) or random data."""
    fd = os.open(path, os.O_WRONLY)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        off, chunk = 0, 1 << 20
        while off < size:
            n = min(chunk, size - off)
            os.pwrite(fd, (fill * n) if fill is not None else os.urandom(n), off)
            off += n
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class FakeNvme:
    controller: str
    id_ctrl: str
    data: list[str] = field(default_factory=list)  # files/devices standing for the namespaces
    outcome: str = "success"  # success | failed | stuck | reject
    steps: int = 3
    global_erased: bool = True
    sprog: int = 0
    sstat: int = 0
    cdw10: int = 0
    polls_left: int = 0

    def caps(self) -> dict[str, int]:
        c = parse_id_ctrl(self.id_ctrl)
        return {"sanicap": c.sanicap or 0, "fna": c.fna or 0, "oacs": c.oacs or 0}

    def log(self) -> str:
        if self.sstat & 7 == 2:
            self.polls_left -= 1
            if self.polls_left > 0 or self.outcome == "stuck":
                done = self.steps - max(self.polls_left, 1)
                self.sprog = 655 if self.outcome == "stuck" else int(65535 * done / self.steps)
            elif self.outcome == "failed":
                self.sstat, self.sprog = 3, 65535
            else:
                self.sstat, self.sprog = 1 | (0x100 if self.global_erased else 0), 65535
                for path in self.data:
                    scramble(path)
        name = self.controller.rsplit("/", 1)[-1]
        status_text = {0: "Never", 1: "Success", 2: "In Progress", 3: "Failed"}.get(self.sstat & 7, "?")
        body = {
            "sprog": self.sprog,
            "sstat": {
                "global_erased": self.sstat >> 8 & 1,
                "no_cmplted_passes": self.sstat >> 3 & 0x1F,
                "status": f"({self.sstat & 7}) {status_text}",
            },
            "cdw10_info": self.cdw10,
            "time_over_write": 4294967295,
            "time_block_erase": 4294967295,
            "time_crypto_erase": 4294967295,
        }
        return json.dumps({name: body})

    def sanitize(self, sanact: int) -> tuple[int, str]:
        bit = {2: 1, 3: 2, 4: 0}.get(sanact)
        if sanact == 1:
            self.sstat = 0
            return 0, ""
        if bit is None or not self.caps()["sanicap"] >> bit & 1 or self.outcome == "reject":
            return 1, "NVMe status: Invalid Command Opcode: A reserved coded value or an unsupported value\n"
        self.sstat, self.sprog, self.cdw10, self.polls_left = 2, 0, sanact, self.steps
        return 0, ""

    def format(self, ses: int) -> tuple[int, str]:
        c = self.caps()
        if not c["oacs"] >> 1 & 1 or (ses == 2 and not c["fna"] >> 2 & 1):
            return 1, "NVMe status: Invalid Field in Command\n"
        for path in self.data:
            scramble(path)
        return 0, "Success formatting namespace:1\n"


@dataclass
class FakeAta:
    path: str
    identify: str  # hdparm -I fixture; its Security section is regenerated from the state below
    data: str | None = None
    frozen: bool = False
    enabled: bool = False
    locked: bool = False
    count_expired: bool = False
    password: str | None = None
    erase_outcome: str = "success"  # success | ignored (hdparm exits 0, drive did nothing) | fail-locked
    sanitize_outcome: str = "success"  # success | bad-sense | failed | stuck
    sanitize_frozen: bool = False
    sanitize_state: str = "SD0"
    sanitize_ok: bool = False
    progress: int = 0
    steps: int = 3
    hpa: tuple[int, int] | None = None  # (current, native)
    dco_real_max: int | None = None
    attempts: int = 0

    def render_identify(self) -> str:
        text = self.identify
        if "Security:" not in text:
            return text
        head, _, rest = text.partition("Security:")
        tail = rest[rest.index("Checksum:") :] if "Checksum:" in rest else ""
        sec = re.search(r"\d+min for SECURITY ERASE UNIT.*", rest)
        enhanced = not re.search(r"\bnot\s+supported: enhanced erase", rest)

        def line(on: bool, word: str) -> str:
            return f"\t{'' if on else 'not'}\t{word}"

        lines = [
            "Security: ",
            "\tMaster password revision code = 65534",
            "\t\tsupported",
            line(self.enabled, "enabled"),
            line(self.locked, "locked"),
            line(self.frozen, "frozen"),
            line(self.count_expired, "expired: security count"),
            line(enhanced, "supported: enhanced erase"),
        ]
        if sec:
            lines.append("\t" + sec.group(0).strip())
        return head + "\n".join(lines) + "\n" + tail

    def sanitize_status(self) -> str:
        if self.sanitize_state == "SD2":
            self.progress += 1
            if self.progress >= self.steps and self.sanitize_outcome != "stuck":
                self.sanitize_state = "SD0"
                self.sanitize_ok = self.sanitize_outcome == "success"
                if self.sanitize_ok and self.data:
                    scramble(self.data, None)
        out = f"\n{self.path}:\nIssuing SANITIZE_STATUS command\n"
        if self.sanitize_outcome == "bad-sense":
            out += "SG_IO: bad/missing sense data, sb[]:  f0 00 0b 04 51 40 00 0a 80 00 00 00\n"
        names = {"SD0": "SD0 Sanitize Idle", "SD1": "SD1 Sanitize Frozen", "SD2": "SD2 Sanitize operation In Process"}
        state = "SD1" if self.sanitize_frozen else self.sanitize_state
        out += f"Sanitize status:\n    State:    {names[state]}\n"
        if state == "SD2":
            prog = min(0xFFFE, int(0xFFFF * self.progress / self.steps))
            out += f"    Progress: {prog:#x} ({100 * prog // 0xFFFF}%)\n"
        if self.sanitize_ok:
            out += "    Last Sanitize Operation Completed Without Error\n"
        return out

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        args = [a for a in argv[1:-1] if a != "--yes-i-know-what-i-am-doing"]
        if args == ["-I"]:
            return 0, self.render_identify(), ""
        if args == ["--sanitize-status"]:
            return 0, self.sanitize_status(), ""
        if args and args[0].startswith("--sanitize-"):
            if "SANITIZE feature set" not in self.identify:
                return 0, "", "SANITIZE feature set is not supported\n"
            if self.sanitize_frozen:
                return 5, "", "SANITIZE device error reason: Device in FROZEN state\n"
            if self.sanitize_outcome == "bad-sense":
                return 0, fixture("hdparm-sanitize-block-erase__mx500-bad-sense.txt"), ""
            self.sanitize_state, self.progress, self.sanitize_ok = "SD2", 0, False
            return 0, "Operation started in background\nYou may use `--sanitize-status` to check progress\n", ""
        if args[:2] == ["--user-master", "u"] and len(args) == 4:
            return self.security(args[2], args[3])
        if args == ["-N"] and self.hpa:
            cur, native = self.hpa
            state = "enabled" if cur < native else "disabled"
            return 0, f"\n{self.path}:\n max sectors   = {cur}/{native}, HPA is {state}\n", ""
        if len(args) == 2 and args[0] == "-N" and self.hpa:
            self.hpa = (int(args[1].lstrip("p")), self.hpa[1])
            return 0, "", ""
        if args == ["--dco-identify"] and self.dco_real_max:
            return 0, f"{self.path}:\nDCO Checksum verified.\n        Real max sectors: {self.dco_real_max}\n", ""
        if args == ["--dco-restore"]:
            return 0, "", ""
        return 0, "", f"fake hdparm: unsupported {args}\n"

    def security(self, op: str, pw: str) -> tuple[int, str, str]:
        if "Security:" not in self.identify:
            # QEMU: the device aborts, hdparm still exits 0
            return 0, "", "SG_IO: bad/missing sense data, sb[]:  70 00 0b 00 00 00 00 0a 00 00 00 00 00 00\n"
        if self.frozen and op != "--security-disable":
            return 5, "", f"{op.upper().lstrip('-')}: Input/output error\n"
        if op == "--security-set-pass":
            self.enabled, self.password = True, pw
            return 0, "", ""
        if op in ("--security-erase", "--security-erase-enhanced"):
            if pw != self.password:
                self.attempts += 1
                return 5, "", "Input/output error\n"
            if self.erase_outcome == "success":
                self.enabled = self.locked = False
                self.password = None
                if self.data:
                    scramble(self.data)
            elif self.erase_outcome == "fail-locked":
                self.locked = True
                return 5, "", "SECURITY_ERASE: Input/output error\n"
            return 0, "", ""
        if op == "--security-unlock" and pw == self.password:
            self.locked = False
            return 0, "", ""
        if op == "--security-disable" and pw == self.password and not self.locked:
            self.enabled, self.password = False, None
            return 0, "", ""
        return 5, "", "Input/output error\n"


@dataclass
class FakeScsi:
    path: str
    opcodes: str
    data: str | None = None
    outcome: str = "success"  # success | failed | stuck
    steps: int = 3
    progress: int | None = None
    failed: bool = False

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        prog = argv[0]
        if prog == "sg_opcodes":
            return 0, self.opcodes, ""
        if prog == "sg_inq":
            return 0, " Vendor identification: FIXTURE\n Product identification: SAS-SSD\n", ""
        if prog == "sg_readcap":
            return 0, "Read Capacity results:\n    Logical block provisioning: lbpme=1, lbprz=1\n", ""
        if prog == "sg_sanitize":
            sa = {"--overwrite": 1, "--block": 2, "--crypto": 3}[argv[1]]
            if not re.search(rf"^\s*48\s+{sa:x}\s", self.opcodes, re.MULTILINE):
                return 9, "", "Sanitize command: Illegal request, Invalid opcode\n"
            self.progress, self.failed = 0, False
            return 0, "", ""
        if prog == "sg_requests" and "--progress" in argv:
            if self.progress is None:
                return 0, "No progress indication found, iteration 1\n", ""
            self.progress += 1
            if self.progress >= self.steps and self.outcome != "stuck":
                self.progress = None
                self.failed = self.outcome == "failed"
                if not self.failed and self.data:
                    scramble(self.data, None)
                return 0, "No progress indication found, iteration 1\n", ""
            return 0, f"Progress indication: {100 * self.progress / self.steps:.2f}% done\n", ""
        if prog == "sg_requests":
            if self.failed:
                return (
                    0,
                    "Decode parameter data as sense data:\n Fixed format, current; Sense key: Medium Error\n"
                    " Additional sense: Sanitize command failed\n",
                    "",
                )
            return 0, "Decode parameter data as sense data:\n Fixed format, current; Sense key: No Sense\n", ""
        return 127, "", f"fake: {prog} not modelled\n"


@dataclass
class FakeSed:
    """A TCG Opal drive as sedutil-cli sees it: its locking state and its PSID revert.

    outcome: success | silent (prints the success line, nothing changes) | mute (exit 0,
    prints nothing, nothing changes)."""

    path: str  # what sedutil-cli is given: the disk, or the NVMe controller
    query: str  # sedutil-cli --query fixture; its Locked/LockingEnabled values follow the state below
    psid: str
    data: str | None = None
    locking_enabled: bool = True
    locked: bool = False
    outcome: str = "success"

    def render_query(self) -> str:
        text = re.sub(r"\bLocked = [YN]", f"Locked = {'Y' if self.locked else 'N'}", self.query)
        return re.sub(r"LockingEnabled = [YN]", f"LockingEnabled = {'Y' if self.locking_enabled else 'N'}", text)

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "--query":
            return 0, self.render_query(), ""
        if argv[1] == PSID_FLAG:
            if argv[2] != self.psid:
                return 1, "", "- 14:23:13.968 ERROR: method status code NOT_AUTHORIZED\n"
            if self.outcome == "mute":
                return 0, "", ""
            if self.outcome == "success":
                self.locking_enabled = self.locked = False
                if self.data:
                    scramble(self.data, None)  # the old ciphertext, now under a key nobody has
            return 0, "", "- 14:23:13.968 INFO: revertTper completed successfully\n"
        return 1, "", f"fake sedutil-cli: {argv[1]} not modelled\n"


@dataclass
class FakeDrives:
    nvme: dict[str, FakeNvme] = field(default_factory=dict)
    ata: dict[str, FakeAta] = field(default_factory=dict)
    scsi: dict[str, FakeScsi] = field(default_factory=dict)
    sed: dict[str, FakeSed] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    missing: set[str] = field(default_factory=lambda: {"sedutil-cli"})  # programs reported as not installed
    others: commands.Runner = no_commands  # what runs any program not faked here

    def add(self, drive: FakeNvme | FakeAta | FakeScsi | FakeSed) -> Any:
        if isinstance(drive, FakeSed):
            self.sed[drive.path] = drive
            self.missing.discard("sedutil-cli")
        elif isinstance(drive, FakeNvme):
            self.nvme[drive.controller] = drive
        elif isinstance(drive, FakeAta):
            self.ata[drive.path] = drive
        else:
            self.scsi[drive.path] = drive
        return drive

    def __call__(
        self,
        argv: Any,
        *,
        timeout: float | None = 120,
        input: Any = None,
        check: bool = False,
        log_to: CommandLog | None = None,
        secret: str | None = None,
        redacted_as: str = commands.REDACTED,
    ) -> CommandResult:
        argv = [str(a) for a in argv]
        if argv[0] in self.missing:
            package = commands.PACKAGES.get(argv[0], argv[0])
            raise ToolMissing(f"{argv[0]} is not installed", hint=f"apt-get install {package}")
        if argv[0] not in FAKED:
            return self.others(
                argv, timeout=timeout, input=input, check=check, log_to=log_to, secret=secret, redacted_as=redacted_as
            )
        self.calls.append(argv)
        rc, out, err = self._dispatch(argv)
        out, err = commands.scrub(out, secret, redacted_as), commands.scrub(err, secret, redacted_as)
        result = CommandResult(commands.redacted(argv, secret, redacted_as), rc, out, err, 0.0)
        if log_to is not None:
            log_to.add(result)
        if check and rc:
            raise commands.CommandFailed(result)
        return result

    def _dispatch(self, argv: list[str]) -> tuple[int, str, str]:
        target = argv[-1] if argv[0] != "nvme" else next((a for a in argv[2:] if a.startswith("/")), "")
        if argv[0] == "nvme":
            ctrl = re.sub(r"n\d+$", "", target) if re.search(r"nvme\d+n\d+$", target) else target
            drive = self.nvme.get(ctrl)
            if drive is None:
                return 1, "", f"{target}: No such file or directory\n"
            sub = argv[1]
            if sub == "id-ctrl":
                return 0, drive.id_ctrl, ""
            if sub == "sanitize-log":
                return 0, drive.log(), ""
            if sub == "sanitize":
                sanact = int(next(a for a in argv if a.startswith("--sanact=")).split("=")[1])
                return _pair(drive.sanitize(sanact))
            if sub == "format":
                ses = int(next(a for a in argv if a.startswith("--ses=")).split("=")[1])
                return _pair(drive.format(ses))
            return 1, "", f"fake nvme: {sub} not modelled\n"
        if argv[0] == "sedutil-cli":
            sed_drive = self.sed.get(target)
            if sed_drive is None:
                return 1, "", f"Invalid or unsupported disk {target}\n"
            return sed_drive.run(argv)
        if argv[0] == "hdparm":
            ata_drive = self.ata.get(target)
            if ata_drive is None:
                return 2, "", f"{target}: No such file or directory\n"
            return ata_drive.run(argv)
        scsi_drive = self.scsi.get(target)
        if scsi_drive is None:
            return 1, "", f"{target}: No such file or directory\n"
        return scsi_drive.run(argv)


def _pair(result: tuple[int, str]) -> tuple[int, str, str]:
    rc, text = result
    return (rc, "", text) if rc else (rc, text, "")
