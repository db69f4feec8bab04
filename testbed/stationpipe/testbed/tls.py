"""A throw-away certificate authority for TLS tests: CA, server and client certificates via ``openssl``."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stationpipe.testbed.services import HarnessError


@dataclass(frozen=True)
class Pki:
    """Paths of the CA certificate and of a server and a client key pair (PEM)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise HarnessError("openssl not found: install the Debian package 'openssl'")
    subprocess.run([binary, *args], check=True, capture_output=True, timeout=60)  # noqa: S603


def _issue(folder: Path, name: str, subject: str, ext: str) -> tuple[Path, Path]:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    ext_file = folder / f"{name}.ext"
    ext_file.write_text(ext)
    _openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        subject,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(folder / "ca.crt"),
        "-CAkey",
        str(folder / "ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        str(cert),
        "-extfile",
        str(ext_file),
    )
    return cert, key


def make_pki(folder: Path) -> Pki:
    """Create a CA and certificates for a server on 127.0.0.1/localhost and one client, valid two days."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        str(folder / "ca.key"),
        "-out",
        str(folder / "ca.crt"),
        "-subj",
        "/CN=stationpipe test CA",
    )
    server = _issue(folder, "server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    client = _issue(folder, "client", "/CN=edge-test", "extendedKeyUsage=clientAuth\n")
    return Pki(folder / "ca.crt", *server, *client)
