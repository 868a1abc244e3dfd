"""The live image's HTTPS collection point for real: curl PUTs the run as a tar to a local HTTPS
server whose CA is pinned with collect/ca.pem; a server signed by another CA is refused.
(rsync is exercised by the booted image in tests/vm/test_live_image.py.)"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sanitize.hw.commands import CommandResult
from sanitize.hw.linux import LinuxHost
from sanitize.image import collect


class RoutedHost(LinuxHost):
    """The real machine, except that the network counts as configured: the test must never run
    a DHCP client on the host's interfaces."""

    def run(self, argv: list[str], **kwargs: Any) -> CommandResult:
        if argv[:2] == ["ip", "-4"]:
            return CommandResult(tuple(argv), 0, "default via 192.0.2.1 dev test0\n", "", 0.0)
        assert argv[0] in ("curl", "rsync", "sftp"), argv
        return super().run(argv, **kwargs)


def _self_signed(common_name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def https_collector(tmp_path: Path) -> Iterator[tuple[str, Path, bytes]]:
    """A WebDAV-like server that stores what is PUT under its root: (URL, root, its certificate)."""
    root = tmp_path / "collected"
    root.mkdir()
    cert_pem, key_pem = _self_signed("collector")
    (tmp_path / "server.pem").write_bytes(cert_pem + key_pem)

    class Put(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            target = root / Path(self.path).name
            target.write_bytes(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Put)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/sanitize/", root, cert_pem
    finally:
        server.shutdown()
        server.server_close()


def _run_dir(tmp_path: Path) -> Path:
    local = tmp_path / "results-run"
    (local / "certificates").mkdir(parents=True)
    (local / "certificates" / "a.json").write_text('{"signed": true}')
    (local / "decommission.json").write_text("{}")
    return local


def test_results_arrive_as_one_tar_over_https_with_the_pinned_ca(https_collector, tmp_path: Path) -> None:
    url, root, cert_pem = https_collector
    said: list[str] = []
    collect.send(
        RoutedHost(), url, str(_run_dir(tmp_path)), "H1-20260101T000000Z", {"ca.pem": cert_pem}, say=said.append
    )
    with tarfile.open(root / "H1-20260101T000000Z.tar") as tar:
        assert sorted(tar.getnames()) == [
            "H1-20260101T000000Z/certificates/a.json",
            "H1-20260101T000000Z/decommission.json",
        ]
        member = tar.extractfile("H1-20260101T000000Z/certificates/a.json")
        assert member is not None and member.read() == b'{"signed": true}'
    assert said[-1] == f"results sent to {url} as H1-20260101T000000Z"


def test_a_server_the_pinned_ca_did_not_sign_is_refused(
    https_collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root, _cert = https_collector
    other_ca, _key = _self_signed("someone else")
    monkeypatch.setattr(collect.time, "sleep", lambda _s: None)
    with pytest.raises(collect.CollectFailed, match="results not sent"):
        collect.send(
            RoutedHost(),
            url,
            str(_run_dir(tmp_path)),
            "H1",
            {"ca.pem": other_ca},
            say=lambda _m: None,
            scratch=str(tmp_path),
        )
    assert list(root.iterdir()) == []
