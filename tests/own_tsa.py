"""A time-stamping authority of the test's own (RFC 3161 over HTTP): ``openssl ts -reply`` behind a tiny
``http.server``, with a TSA certificate (extendedKeyUsage timeStamping, critical) issued by a CA made here."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vbcore.security.pki import certificate_pem, create_ca, generate_private_key, private_key_pem

CONFIG = """
[ tsa ]
default_tsa = own
[ own ]
dir = {dir}
serial = $dir/serial
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class OwnTsa:
    url: str
    ca_path: Path
    directory: Path


def make_tsa_pki(directory: Path) -> Path:
    """A CA and a TSA certificate under it (files in ``directory``); returns the CA's path."""
    ca_key, ca_cert = create_ca("own TSA CA")
    key = generate_private_key("rsa")
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "own TSA")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "tsa.key").write_bytes(private_key_pem(key))
    (directory / "tsa.pem").write_bytes(certificate_pem(cert))
    (directory / "ca.pem").write_bytes(certificate_pem(ca_cert))
    (directory / "serial").write_text("01\n")
    (directory / "tsa.cnf").write_text(CONFIG.format(dir=directory))
    return directory / "ca.pem"


@contextmanager
def running_tsa(openssl: str, directory: Path) -> Iterator[OwnTsa]:
    ca_path = make_tsa_pki(directory)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                (directory / "query.der").write_bytes(query)
                subprocess.run(
                    [
                        openssl,
                        "ts",
                        "-reply",
                        "-config",
                        str(directory / "tsa.cnf"),
                        "-queryfile",
                        str(directory / "query.der"),
                        "-out",
                        str(directory / "reply.der"),
                    ],
                    check=True,
                    capture_output=True,
                )
                reply = (directory / "reply.der").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OwnTsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", ca_path, directory)
    finally:
        server.shutdown()
        server.server_close()
