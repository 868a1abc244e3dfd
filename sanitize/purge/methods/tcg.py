"""tcg-psid-revert: crypto erase of a TCG Opal / Enterprise self-encrypting drive with its PSID.

A drive that encrypts everything it stores (Locking feature `MediaEncrypt = Y`) discards its
media encryption key when reverted to factory state, which makes every block unreadable:
cryptographic erase, Purge. Without the owner's SID password the only way to revert is the
PSID printed on the drive's label, so the operator must type it (`--psid`); it is passed to
sedutil-cli only, and replaced by `<PSID>` in plans, command logs, results and certificates.

Success is never taken from sedutil-cli's exit code: the output must say "revertTper
completed successfully", a fresh `--query` must show the locking feature disabled
(`LockingEnabled = N`), and blocks sampled before the revert must read differently after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sanitize.erase.method import ExecutionContext, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, Plan, Step
from sanitize.errors import BadInput
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import Capabilities, sed
from sanitize.purge.methods.base import (
    FirmwareMethod,
    capabilities,
    controller_of,
    device_verdict,
    refuse_shared_controller,
)

PSID_FLAG = "--yesIreallywanttoERASEALLmydatausingthePSID"
PSID_PLACEHOLDER = "<PSID>"
_PSID = re.compile(r"[0-9A-Za-z]{32}")
_SUCCESS = "revertTper completed successfully"


def psid_of(options: EraseOptions) -> str:
    psid = options.firmware.psid or ""
    if not psid:
        raise BadInput("tcg-psid-revert needs --psid: the 32-character PSID printed on the drive's label")
    if not _PSID.fullmatch(psid):
        raise BadInput("--psid: a PSID is 32 letters and digits, as printed on the drive's label")
    return psid


def parse_psid_file(text: str, source: str) -> dict[str, str]:
    """`SERIAL PSID` per line (a device path or kernel name works too; `#` starts a comment).

    Errors name the line, never the PSID written on it.
    """
    psids: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not _PSID.fullmatch(fields[1]):
            raise BadInput(f"{source}:{number}: expected 'SERIAL PSID' (a PSID is 32 letters and digits)")
        if fields[0] in psids:
            raise BadInput(f"{source}:{number}: {fields[0]} is listed twice")
        psids[fields[0]] = fields[1]
    return psids


def psid_for(device: Device, psids: Mapping[str, str]) -> str | None:
    for key in (device.serial, device.path, device.name):
        if key and key in psids:
            return psids[key]
    return None


def target_of(device: Device, caps: Capabilities) -> str:
    """sedutil-cli addresses an NVMe drive by its controller (/dev/nvme0), others by the disk."""
    return caps.nvme.controller if caps.nvme and caps.nvme.controller else device.path


class TcgPsidRevert(FirmwareMethod):
    name = "tcg-psid-revert"
    interfaces = ("ata", "scsi", "nvme")

    def unsupported(self, caps: Capabilities) -> str | None:
        s = caps.sed
        if s is None:
            return "sedutil-cli could not read the drive's TCG features (is sedutil installed?)"
        if not s.opal:
            return "the drive reports no TCG Opal or Enterprise security subsystem"
        if s.media_encrypt is not True:
            return "the drive does not report MediaEncrypt = Y: a revert would not make its data unreadable"
        return None

    def check(self, planning: Planning, device: Device, options: EraseOptions) -> None:
        super().check(planning, device, options)
        psid_of(options)
        caps = capabilities(planning, device)
        if caps.interface == "nvme":  # the revert resets the whole drive, every namespace
            refuse_shared_controller(planning, device, caps, "a TCG revert erases every namespace of the drive")

    def controller_reach(self, planning: Planning, device: Device, options: EraseOptions) -> str | None:
        caps = capabilities(planning, device)
        return controller_of(device, caps) if caps.interface == "nvme" else None

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        target = target_of(device, caps)
        query = ("sedutil-cli", "--query", target)
        return [
            Step("read the TCG locking state", Command(query, timeout=60), "query"),
            Step(
                "PSID revert: the drive discards its media encryption key and returns to factory state",
                Command(
                    ("sedutil-cli", PSID_FLAG, PSID_PLACEHOLDER, target), timeout=300, placeholder=PSID_PLACEHOLDER
                ),
                "revert",
            ),
            Step("read the locking state again: LockingEnabled must be N", Command(query, timeout=60), "query-after"),
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ["sedutil-cli --query lists an Opal or Enterprise feature and MediaEncrypt = Y"]

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return [
            f'sedutil-cli printed "{_SUCCESS}" (its exit code is not trusted)',
            "sedutil-cli --query afterwards shows LockingEnabled = N",
            *super().post_checks(device, options),
        ]

    def reason(self, device: Device, options: EraseOptions) -> str:
        return (
            "the drive encrypts all data (TCG, MediaEncrypt = Y): a PSID revert replaces its media "
            "encryption key (cryptographic erase, Purge)"
        )

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[str]:
        return [
            *super().notes(planning, device, options),
            "the PSID is used for this command only: results, logs and certificates show <PSID>",
            "some drives accept I/O again only after a power cycle following a revert",
        ]

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        return 10.0

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        psid = psid_of(plan.options)
        before = sed.parse_sedutil_query(ctx.run(plan.step("query")).stdout)
        ctx.result.add_note(f"TCG locking before revert: LockingEnabled={_yn(before.locking_enabled)}")
        res = ctx.run(plan.step("revert"), secret=psid)
        said = res.stdout + res.stderr
        if "NOT_AUTHORIZED" in said:
            device_verdict(ctx, False, "the drive refused the PSID (NOT_AUTHORIZED): check it against the label")
            return
        after = sed.parse_sedutil_query(ctx.run(plan.step("query-after")).stdout)
        if _SUCCESS not in said:
            device_verdict(ctx, False, f"sedutil-cli did not report a completed revert (exit {res.returncode})")
        elif after.locking_enabled is not False:
            device_verdict(ctx, False, "after the revert the drive still reports LockingEnabled = Y")
        else:
            device_verdict(ctx, True, "revert completed and the locking feature reads back disabled")


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("Y" if value else "N")
