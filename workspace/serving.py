"""How the app is reached: the URLs to print, the self-signed TLS pair, the password prompt.

Addresses come from the machine's interfaces (workspace/security.py); nothing here opens a
connection. The TLS pair is made once with the `cryptography` package and reused.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import ipaddress
import socket
import sys
from pathlib import Path

from workspace.security import lan_addresses

TLS_DIR = "tls"
CERT_DAYS = 3650


def urls(host: str, port: int, tls: bool) -> list[str]:
    """The addresses to open: one per LAN address for a wildcard bind, else the bound host."""
    scheme = "https" if tls else "http"
    if host in ("0.0.0.0", "::", ""):
        hosts = [a for a in lan_addresses() if ":" not in a or host == "::"] or ["127.0.0.1"]
    else:
        hosts = [host]
    return [f"{scheme}://{f'[{h}]' if ':' in h else h}:{port}/" for h in hosts]


def self_signed_pair(data_dir: Path) -> tuple[Path, Path, str]:
    """The certificate and key in <data_dir>/tls (made on first use) and the certificate's SHA-256 fingerprint."""
    folder = Path(data_dir) / TLS_DIR
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if not (cert_path.exists() and key_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        cert_pem, key_pem = _make_pair()
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        cert_path.write_bytes(cert_pem)
    return cert_path, key_path, fingerprint(cert_path)


def fingerprint(cert_path: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(Path(cert_path).read_bytes()).public_bytes(Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _make_pair() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys([hostname, f"{hostname}.local",
                                                                               "localhost"])]
    for address in ["127.0.0.1", "::1", *lan_addresses()]:
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Local AI Workspace on {hostname}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ask_new_password() -> str:
    """Twice at a terminal; one line from stdin otherwise (for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("The two passwords differ; nothing was changed.")
    return first
