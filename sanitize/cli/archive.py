"""`sanitize archive`: list, verify and export the tamper-evident certificate archive."""

from __future__ import annotations

import io
import os
import zipfile

import click

from sanitize.certify import keys as keystore
from sanitize.certify.archive import Anchor, Archive, read_witness
from sanitize.certify.verify import resolve_trust
from sanitize.cli.app import App, emit_json, info, json_option, pass_app, warn
from sanitize.errors import BadInput, VerificationError
from sanitize.inputs import read_input
from sanitize.outputs import check_output_file, write_output
from sanitize.state import TMP_INFIX
from sanitize.textsafe import printable


@click.group("archive")
def command() -> None:
    """The append-only, hash-chained archive of every certificate and failure report."""


def _archive(app: App, directory: str | None) -> Archive:
    archive = Archive(directory) if directory else Archive.of(app.state)
    if not archive.exists():
        raise BadInput(f"{archive.path}: no archive there (nothing issued yet?)")
    return archive


_dir_option = click.option(
    "--dir", "directory", type=click.Path(file_okay=False), help="Archive directory (default STATE/archive)."
)


@command.command("list")
@_dir_option
@json_option
@pass_app
def list_(app: App, directory: str | None, as_json: bool) -> None:
    """List archive entries (unverified; use `archive verify`)."""
    archive = _archive(app, directory)
    entries = archive.entries()
    head = archive.head_anchor()
    if as_json:
        emit_json({"schema": "sanitize.archive-list/1", "entries": entries, "head": head})
        return
    for e in entries:
        line = f"{e.get('index')!s:>5}  {e.get('issued_at')}  {e.get('kind')!s:15}  {e.get('certificate_id')}"
        click.echo(printable(line))  # unverified: a copied archive's entries must not drive the terminal
    if head is not None:
        click.echo(f"head {head['anchor']}")


@command.command("verify")
@_dir_option
@click.option("--trust", "trust_file", type=click.Path(), help="The signer certificate to trust.")
@click.option(
    "--expect-head",
    "expect_heads",
    multiple=True,
    metavar="SIZE:ROOT",
    help="A head recorded outside this server (printed by `cert issue`, `archive list`): "
    "the archive must still extend it, else it was rolled back or rewritten.",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    type=click.Path(),
    help="A file of SIZE:ROOT lines, a head.json, or an earlier export bundle (.zip or directory) "
    "that the archive must extend.",
)
@json_option
@pass_app
def verify(
    app: App,
    directory: str | None,
    trust_file: str | None,
    expect_heads: tuple[str, ...],
    witnesses: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check the chain, the Merkle root, the signed head and every document; name what is wrong."""
    anchors = [Anchor.parse(text, "--expect-head") for text in expect_heads]
    archive = _archive(app, directory)
    trust = resolve_trust(app.state, trust_file, directory)
    trusted = trust.certs[0] if trust.certs else None
    if trusted is None and directory:  # an unzipped export carries its signer; untrusted unless --trust
        raise VerificationError("no trusted signer for this archive — pass --trust signer.pem")
    for witness in witnesses:
        anchors.extend(read_witness(witness, trusted))
    report = archive.verify(trusted, anchors)
    if as_json:
        emit_json(report.to_dict())
    else:
        for problem in report.problems:
            info(f"  {problem}")
    if not report.ok:
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise VerificationError(f"archive does not verify: {report.problems[0]}{more}")
    if not as_json:
        extends = f"; extends {len(anchors)} recorded head(s)" if anchors else ""
        root = report.head.get("root") if report.head else None
        click.echo(f"archive intact: {report.size} entries, head {report.size}:{root}{extends}")


VERIFY_TXT = """\
How to verify this archive with openssl alone
==============================================

Files: log.jsonl (one entry per line), head.json + head.json.sig (signed head),
docs/<certificate_id>.json + .json.sig (+ .pdf), signers/<fingerprint>.pem, signer.pem.

1. Check you hold the right signer certificate (compare with the fingerprint the organisation gave you):
     openssl x509 -in signer.pem -noout -fingerprint -sha256 -subject
     openssl x509 -in signer.pem -pubkey -noout > pub.pem

2. Check the signed head (size, Merkle root, chain head):
     openssl dgst -sha256 -verify pub.pem -signature head.json.sig head.json        # "Verified OK"

3. Check every certificate against its detached signature (each entry names its signer under
   signers/; with one key that is signer.pem):
     for f in docs/*.json; do echo "$f"; openssl dgst -sha256 -verify pub.pem -signature "$f.sig" "$f"; done

4. Check each document is the one logged (the "sha256" field of its log line):
     sha256sum docs/*.json
     cat log.jsonl

5. Check the hash chain: the SHA-256 of line N (without its newline) is the "prev" of line N+1,
   and the SHA-256 of the last line is "chain_head" in head.json; "size" is the number of lines:
     n=$(wc -l < log.jsonl); for i in $(seq 1 "$n"); do sed -n "${i}p" log.jsonl | tr -d '\\n' | sha256sum; done
     grep -o '"prev":"[0-9a-f]*"' log.jsonl

   The Merkle root in head.json is RFC 6962: leaf = SHA-256(0x00 || line), node = SHA-256(0x01 || left || right).

6. PDFs are PAdES-signed: `pdfsig docs/<id>.pdf` (poppler-utils) must print "Signature is Valid" and
   "Total document signed"; the signed JSON is attached to each PDF.

With the sanitize tool: `sanitize archive verify --dir . --trust signer.pem` and
`sanitize cert verify docs/<id>.pdf --trust signer.pem --archive .`.
"""


@command.command("export")
@_dir_option
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="The bundle.zip to write.")
@pass_app
def export(app: App, directory: str | None, output: str) -> None:
    """Write certificates, signatures, PDFs, log, signed head, signer certificate and VERIFY.txt to a zip."""
    output = check_output_file(output)
    archive = _archive(app, directory)
    own = keystore.load_signer_cert(app.state)
    report = archive.verify(own)
    if not report.ok:
        warn(f"exporting an archive that does not verify: {report.problems[0]}")
    buffer = io.BytesIO()
    with archive.locked(), zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for root, _dirs, files in os.walk(archive.path):
            for name in sorted(files):
                if name == ".lock" or TMP_INFIX in name:
                    continue
                path = os.path.join(root, name)
                bundle.write(path, os.path.relpath(path, archive.path))
        if own is not None:
            bundle.writestr("signer.pem", keystore.cert_pem(own))
        bundle.writestr("VERIFY.txt", VERIFY_TXT)
    write_output(output, buffer.getvalue())
    head = archive.head_anchor()
    click.echo(f"{output}: {report.size} entries exported" + (f", head {head['anchor']}" if head else ""))


@command.command("merge")
@_dir_option
@click.argument("segment", type=click.Path(file_okay=False))
@click.option(
    "--trust",
    "trust_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The certificate the segment must be signed with (the job's signer).",
)
@json_option
@pass_app
def merge(app: App, directory: str | None, segment: str, trust_file: str, as_json: bool) -> None:
    """Append a verified archive SEGMENT (e.g. a live image's results/<run>/archive) to this archive.

    The segment must verify completely against --trust; its documents keep their signatures, this
    archive's key signs the new head, and the segment's signed head is kept under segments/.
    Merging the same segment again adds nothing.
    """
    from sanitize.certify.merge import merge_segment

    trust = keystore.load_certs(read_input(trust_file, "certificate"), trust_file)[0]
    signer = keystore.load_signer(app.state)
    target = Archive(directory) if directory else Archive.of(app.state)
    report = merge_segment(target, Archive(segment), trust=trust, signer=signer)
    checked = target.verify(keystore.load_signer_cert(app.state) if not directory else signer.cert)
    if as_json:
        emit_json(report.to_dict() | {"archive": checked.to_dict()})
    if not checked.ok:
        raise VerificationError(f"archive does not verify after the merge: {checked.problems[0]}")
    if not as_json:
        head = target.head_anchor()
        click.echo(
            f"{segment}: {len(report.added)} entries added, {len(report.already_present)} already present; "
            f"archive intact: {checked.size} entries" + (f", head {head['anchor']}" if head else "")
        )
