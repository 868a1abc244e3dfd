"""`sanitize keys`: the organisation's signing key and certificate (init, import, show)."""

from __future__ import annotations

import os

import click
from cryptography import x509

from sanitize.certify import keys as keystore
from sanitize.certify.archive import Archive
from sanitize.cli.app import App, emit_json, info, json_option, pass_app
from sanitize.errors import BadInput, Refused
from sanitize.inputs import read_input


@click.group("keys")
def command() -> None:
    """Create, import or show the key that signs certificates."""


def _check_rotation(app: App, force: bool) -> x509.Certificate | None:
    """The current signer, after making sure replacing it will not launder a tampered archive."""
    old = keystore.load_signer_cert(app.state)
    archive = Archive.of(app.state)
    if old is not None and force and archive.exists():
        report = archive.verify(old)
        if not report.ok:
            raise Refused(f"archive does not verify, key not replaced: {report.problems[0]}")
    return old


def _report(app: App, signer: keystore.Signer, old: x509.Certificate | None, action: str) -> None:
    info(f"{action}: {keystore.cert_path(app.state)} (key {keystore.key_path(app.state)}, mode 0600)")
    # Rotation: the head must now be signed by the new key; older entries keep verifying
    # against their own signer certificate kept in archive/signers/.
    if old is not None and old != signer.cert and Archive.of(app.state).resign_head(old, signer):
        info("archive head re-signed with the new key (older entries keep their original signer)")
    click.echo(f"SHA-256 fingerprint: {signer.fingerprint}")


@command.command("init")
@click.option("--org", required=True, help="Organisation name (the certificate's O=).")
@click.option("--force", is_flag=True, help="Replace an existing key (the archive head is re-signed).")
@pass_app
def init(app: App, org: str, force: bool) -> None:
    """Create an ECDSA P-256 key and a self-signed signing certificate (10 years)."""
    app.state.ensure()
    old = _check_rotation(app, force)
    signer = keystore.init_keys(app.state, org, force=force)
    _report(app, signer, old, "created")


def _password(password_file: str | None) -> bytes | None:
    if password_file:
        return read_input(password_file, "password file").rstrip(b"\r\n")
    env = os.environ.get("SANITIZE_KEY_PASSWORD")
    return env.encode() if env else None


@command.command("import")
@click.option("--cert", "cert_file", type=click.Path(), help="Signer certificate PEM (chain after it).")
@click.option("--key", "key_file", type=click.Path(), help="Private key PEM.")
@click.option("--pkcs12", "p12_file", type=click.Path(), help="PKCS#12 file with key, cert and chain.")
@click.option(
    "--password-file",
    type=click.Path(),
    help="File holding the key/PKCS#12 password (or set SANITIZE_KEY_PASSWORD).",
)
@click.option("--force", is_flag=True, help="Replace an existing key (the archive head is re-signed).")
@pass_app
def import_(
    app: App,
    cert_file: str | None,
    key_file: str | None,
    p12_file: str | None,
    password_file: str | None,
    force: bool,
) -> None:
    """Use an existing organisation certificate and key (PEM or PKCS#12)."""
    if bool(p12_file) == bool(cert_file or key_file) or (not p12_file and not (cert_file and key_file)):
        raise BadInput("give either --cert and --key, or --pkcs12")
    app.state.ensure()
    old = _check_rotation(app, force)
    password = _password(password_file)
    if p12_file:
        signer = keystore.import_pkcs12(app.state, p12_file, password=password, force=force)
    else:
        assert cert_file and key_file
        signer = keystore.import_pem(app.state, cert_file, key_file, password=password, force=force)
    _report(app, signer, old, "imported")


@command.command("show")
@json_option
@pass_app
def show(app: App, as_json: bool) -> None:
    """Print the signer certificate's subject and SHA-256 fingerprint (never the key)."""
    cert = keystore.load_signer_cert(app.state)
    if cert is None:
        raise BadInput(f"no signing key in {app.state.path}/keys", hint="run `sanitize keys init --org NAME` first")
    doc = {
        "schema": "sanitize.keys/1",
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "fingerprint_sha256": keystore.fingerprint(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "certificate": keystore.cert_path(app.state),
    }
    if as_json:
        emit_json(doc)
        return
    click.echo(f"Subject:     {doc['subject']}")
    click.echo(f"Issuer:      {doc['issuer']}")
    click.echo(f"Valid:       {doc['not_before']} to {doc['not_after']}")
    click.echo(f"Certificate: {doc['certificate']}")
    click.echo(f"SHA-256 fingerprint: {doc['fingerprint_sha256']}")
