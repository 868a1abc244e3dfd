"""`sanitize cert`: issue, verify and show certificates of sanitization and failure reports."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import click

from sanitize.certify.canonical import canonical_bytes, parse_json_bytes
from sanitize.certify.config import load_config
from sanitize.certify.issue import issue_for_result
from sanitize.certify.verify import load_any, verify_file
from sanitize.cli.app import App, emit_json, info, json_option, pass_app
from sanitize.errors import BadInput, SanitizationFailed
from sanitize.inputs import read_input
from sanitize.outputs import check_output_dir
from sanitize.textsafe import printable


@click.group("cert")
def command() -> None:
    """Signed certificates of sanitization (NIST SP 800-88) and failure reports."""


def _read_json(path: str, what: str) -> Any:
    return parse_json_bytes(read_input(path, what), what=path)


@command.command("issue")
@click.argument("result_file", metavar="RESULT.json", type=click.Path())
@click.option("--output-dir", type=click.Path(file_okay=False), help="Where to write (default: STATE/certificates).")
@click.option("--config", "config_file", type=click.Path(), help="Operator config TOML.")
@click.option("--artifacts", "artifacts_file", type=click.Path(), help="Inventory summary JSON.")
@click.option("--operator-name", help="Person performing the sanitization.")
@click.option("--operator-title", help="Their position or title.")
@click.option("--operator-org", help="Their organisation.")
@click.option("--location", help="Where the sanitization took place.")
@click.option("--contact", help="Phone or other contact.")
@click.option(
    "--property-number",
    help="Organisation property / asset number of this device (also for devices without a serial).",
)
@click.option("--destination", help="Post-sanitization destination (reuse, recycling, return to vendor, ...).")
@click.option("--confidentiality", help="Pre-sanitization confidentiality categorisation.")
@json_option
@pass_app
def issue(
    app: App,
    result_file: str,
    output_dir: str | None,
    config_file: str | None,
    artifacts_file: str | None,
    operator_name: str | None,
    operator_title: str | None,
    operator_org: str | None,
    location: str | None,
    contact: str | None,
    property_number: str | None,
    destination: str | None,
    confidentiality: str | None,
    as_json: bool,
) -> None:
    """Sign a certificate (verified results) or a failure report (failed/interrupted) for RESULT.json.

    Only results the erase engine recorded in the state directory, unchanged, plausible and not
    issued before are accepted (else exit 4). Exits 0 for a certificate and 7 when the result was
    a failure, after writing the failure report. Prints the archive's new head (SIZE:ROOT) to
    record outside this server (`archive verify --expect-head`).
    """
    if output_dir is not None:
        output_dir = check_output_dir(output_dir)
    result = _read_json(result_file, "result file")
    artifacts = _read_json(artifacts_file, "artifact summary") if artifacts_file else None
    config = load_config(app.state, config_file)
    config = dataclasses.replace(
        config,
        operator=config.operator.merged(
            name=operator_name, title=operator_title, organization=operator_org, location=location, contact=contact
        ),
        post_sanitization_destination=destination or config.post_sanitization_destination,
        pre_sanitization_confidentiality=confidentiality or config.pre_sanitization_confidentiality,
        property_number=property_number or config.property_number,
    )
    issued = issue_for_result(result, state=app.state, config=config, artifacts_before=artifacts, output_dir=output_dir)
    if as_json:
        emit_json({"schema": "sanitize.cert-issue/1", **issued.to_dict()})
    else:
        click.echo(f"{issued.kind} {issued.certificate_id} (archive entry {issued.archive_index})")
        for label, path in (("json", issued.json_path), ("sig", issued.sig_path), ("pdf", issued.pdf_path)):
            click.echo(f"  {label:5} {path}")
        click.echo(f"  signer {issued.signer_path}")
        if issued.archive_head:
            click.echo(f"  archive head {issued.archive_head['anchor']} (record it outside this server)")
    if issued.kind != "certificate":
        raise SanitizationFailed(
            f"result {issued.result_id} is {result['status']}: FAILURE REPORT issued, not a certificate"
        )


@command.command("verify")
@click.argument("file", metavar="FILE.json|FILE.pdf", type=click.Path())
@click.option("--trust", "trust_file", type=click.Path(), help="The signer certificate to trust.")
@click.option(
    "--archive", "archive_dir", type=click.Path(file_okay=False), help="Archive (e.g. an unzipped export) to look in."
)
@json_option
@pass_app
def verify(app: App, file: str, trust_file: str | None, archive_dir: str | None, as_json: bool) -> None:
    """Check signatures, visible fields and archive membership; exit 0 only if all hold (else 9)."""
    result = verify_file(file, state=app.state, trust_path=trust_file, archive_path=archive_dir)
    if as_json:
        emit_json(result.to_dict())
        return
    label = {"certificate": "CERTIFICATE", "failure-report": "FAILURE REPORT (not a certificate)"}.get(
        result.kind, result.kind
    )
    ident = f" {result.certificate_id}" if result.certificate_id else ""
    click.echo(f"VALID {label}{ident}")
    for check in result.checks:
        info(f"  ok: {check}")


def _show_lines(doc: dict[str, Any]) -> list[str]:
    from sanitize.certify.pdf import carve_text, read_back_text, size_text, summary_device_text, summary_outcome, text

    if doc.get("schema") == "sanitize.host-summary/1":
        host = doc.get("host") or {}
        lines = [f"Host summary {text(doc.get('summary_id'))} for {text(host.get('hostname'))}"]
        for d in doc.get("devices") or []:
            tail = (
                f"{text(d.get('why'))}"
                if d.get("outcome") == "not-sanitized"
                else f"{text(d.get('method'))}  {d.get('kind')} {text(d.get('certificate_id'))}"
            )
            lines.append(f"  {summary_device_text(d)}  {summary_outcome(d)}  {tail}")
        return lines
    dev, san, ver = doc["device"], doc["sanitization"], doc["verification"]
    src = doc.get("media_source") or {}
    std = san.get("standard") or {}
    val = doc.get("validation") or {}
    person = doc.get("performed_by") or {}
    maker = " ".join(str(x) for x in (dev.get("manufacturer"), dev.get("model")) if x) or "—"
    lines = [
        f"{doc.get('title')}",
        f"  certificate id   {text(doc['certificate_id'])}",
        f"  issued           {text(doc.get('issued_at'))}",
        f"  status           {text(doc['status'])}",
        f"  device           {maker}  serial {text(dev.get('serial'))}",
        f"  identified by    {text(dev.get('identified_by') or dev.get('path'))}",
        f"  size / media     {size_text(dev.get('size_bytes'))}, {text(dev.get('media_type'))}"
        f" via {text(dev.get('interface'))}",
        f"  property number  {text(dev.get('property_number'))}",
        f"  media source     {text(src.get('hostname'))}, system serial {text(src.get('product_serial'))},"
        f" UUID {text(src.get('product_uuid'))}",
        f"  standard         {text(std.get('nist'))} {text(std.get('nist_method') or san.get('nist_level'))};"
        f" {text(std.get('ieee2883'))} {text(std.get('technique'))}",
        f"  method           {text(san.get('method_label'))} ({text(san.get('method'))})",
    ]
    if val:
        lines += [
            f"  completed        {text(val.get('technique_completed'))}",
            f"  read-back        {read_back_text(val.get('read_back') or ver)}",
            f"  carve check      {carve_text(val.get('carve_check'))}",
        ]
    else:
        lines.append(
            f"  verification     {text(ver.get('method'))}, coverage {text(ver.get('coverage'))},"
            f" outcome {text(ver.get('outcome'))}"
        )
    lines += [
        f"  started/finished {text(doc.get('started_at'))} / {text(doc.get('finished_at'))}",
        f"  performed by     {text(person.get('name'))} ({text(person.get('title'))},"
        f" {text(person.get('organization'))})",
        *[f"  note             {n}" for n in doc.get("notes") or []],
    ]
    return lines


@command.command("countersign")
@click.argument("file", metavar="FILE.pdf|FILE.json", type=click.Path())
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(),
    help="The certificate signer's signer.pem to check it against (default: signer.pem next to FILE).",
)
@click.option("--name", help="Your name (the validator).")
@click.option("--title", help="Your position or title.")
@click.option("--org", "organization", help="Your organisation.")
@click.option("--location", help="Where you validated it.")
@click.option("--contact", help="Your phone or other contact.")
@click.option("--statement", help="What you attest (default: the sanitization was checked and is effective).")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Where to write (default: next to FILE).")
@json_option
@pass_app
def countersign_command(
    app: App,
    file: str,
    trust_file: str | None,
    name: str | None,
    title: str | None,
    organization: str | None,
    location: str | None,
    contact: str | None,
    statement: str | None,
    output_dir: str | None,
    as_json: bool,
) -> None:
    """Countersign a certificate as the second person who validated it, with your own key.

    \b
    NIST SP 800-88 Rev. 2 and R2v3 expect a sanitization to be validated by someone other
    than who performed it. As the validator, make a key of your own once, in a state
    directory of your own, then countersign:
      sanitize --state-dir ~/validator keys init --org "Example Audit"
      sanitize --state-dir ~/validator cert countersign certificate-X.pdf --name "Max Muster" \\
          --title "IT Security Officer" --trust signer.pem
    The certificate is checked first (signatures, page, QR; exit 9 if it does not verify).
    Then FILE.countersign-ID.json (sanitize.countersignature/1, bound to the SHA-256 of the
    certificate's signed JSON), its signature (.json.sig) and your certificate (.pem) are
    written next to it; the certificate itself is not changed. `cert verify` checks them.
    Refused (exit 4) with the key that issued the certificate.
    """
    from sanitize.certify import countersign
    from sanitize.certify.config import Person
    from sanitize.certify.keys import load_signer
    from sanitize.certify.verify import verify_signed

    trust_path = trust_file or os.path.join(os.path.dirname(os.path.abspath(file)), "signer.pem")
    if not os.path.exists(trust_path):
        raise BadInput(f"{trust_path}: no signer certificate to check {file} against", hint="pass --trust signer.pem")
    verified = verify_signed(file, state=app.state, trust_path=trust_path)
    if verified.kind == "host-summary" or verified.signer is None:
        raise BadInput(f"{file}: only certificates and failure reports are countersigned")
    validator = Person(name=name, title=title, organization=organization, location=location, contact=contact)
    done = countersign.countersign(
        file,
        verified.document,
        canonical_bytes(verified.document),
        verified.signer,
        load_signer(app.state),
        validator,
        statement=statement,
        output_dir=output_dir,
    )
    if as_json:
        emit_json(
            {
                "schema": "sanitize.cert-countersign/1",
                "json": done.json_path,
                "signature": done.sig_path,
                "validator_certificate": done.signer_path,
                "countersignature": done.document,
            }
        )
        return
    click.echo(f"countersigned {verified.kind} {verified.certificate_id}")
    for label, path in (("json", done.json_path), ("sig", done.sig_path), ("pem", done.signer_path)):
        click.echo(f"  {label:5} {path}")


@command.command("show")
@click.argument("file", metavar="FILE.json|FILE.pdf", type=click.Path())
@json_option
def show(file: str, as_json: bool) -> None:
    """Print a certificate or failure report (does NOT verify it: use `cert verify`)."""
    doc, _ = load_any(file)
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False))
        return
    for line in _show_lines(doc):
        click.echo(printable(line))  # a hostile file's fields must not drive the terminal
