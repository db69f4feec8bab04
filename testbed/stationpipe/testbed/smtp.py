"""A real SMTP server for the e-mail channel's tests: Debian's Exim (``exim4-daemon-light``), started as a
child process on a free loopback port with its spool, log and a throw-away certificate in a temp folder.

It offers STARTTLS (the certificate made here with ``cryptography``, for 127.0.0.1), refuses MAIL before
STARTTLS and RCPT before AUTH PLAIN with ``username``/``password``, and queues what it accepts without
delivering it (``queue_only``): :meth:`Exim.messages` reads the spool (``input/*-H`` and ``*-D``).
Exim runs as root here only to bind and drop to its own user (``Debian-exim``), as it does in production.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stationpipe.testbed.services import HarnessError, free_port

EXIM = "exim4"
_HEADER = re.compile(rb"^\d{3,}(.) (.*)$")
_USER = "Debian-exim"

_CONFIG = """\
primary_hostname = localhost
spool_directory = @spool@
log_file_path = @spool@/%slog
pid_file_path = @spool@/exim.pid
exim_user = @user@
exim_group = @group@
local_interfaces = <; 127.0.0.1.@port@
daemon_smtp_ports = @port@
queue_only = true
keep_environment =
tls_advertise_hosts = *
tls_certificate = @cert@
tls_privatekey = @key@
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt
begin acl
acl_mail:
  deny message = STARTTLS first
       condition = ${if eq{$tls_in_cipher}{}{yes}{no}}
  accept
acl_rcpt:
  deny message = authenticate first
       !authenticated = *
  deny message = no such user here
       local_parts = refuse
  accept
begin routers
begin transports
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{@username@}}{eq{$auth3}{@password@}}}}
  server_set_id = $auth2
"""


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stationpipe test smtp")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Exim:
    """One Exim daemon in a temp folder of its own (see the module docstring): under ``/tmp`` itself, since
    Exim's user must reach it and a test's ``tmp_path`` sits in a folder only its owner may enter."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="stationpipe-exim-")))
    username: str = "alerts"
    password: str = "s3cret-pw"  # noqa: S105 - a throw-away server's test login
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    cert: Path | None = None

    @property
    def spool(self) -> Path:
        """Exim's spool (queue, logs)."""
        return self.folder / "spool"

    def start(self) -> None:
        """Write the config and certificate, start the daemon, wait for the port."""
        exe = shutil.which(EXIM)
        if exe is None:
            raise HarnessError("exim4 is not installed (Debian: apt-get install exim4-daemon-light)")
        self.spool.mkdir(parents=True, exist_ok=True)
        self.cert, key = self_signed(self.folder)
        user = pwd.getpwnam(_USER) if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        for path in (self.folder, self.spool, self.cert, key):
            if os.geteuid() == 0:
                os.chown(path, user.pw_uid, user.pw_gid)
        conf = self.folder / "exim.conf"
        values = {
            "spool": self.spool,
            "user": user.pw_name,
            "group": user.pw_gid,
            "port": self.port,
            "cert": self.cert,
            "key": key,
            "username": self.username,
            "password": self.password,
        }
        text = _CONFIG
        for name, value in values.items():
            text = text.replace(f"@{name}@", str(value))
        conf.write_text(text, encoding="utf-8")
        self.proc = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            [exe, "-C", str(conf), "-bdf", "-oX", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "exim.err").open("wb"),
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                err = (self.folder / "exim.err").read_text(errors="replace")
                raise HarnessError(f"exim exited {self.proc.returncode}: {err[-500:]}")
            log = self.spool / "mainlog"
            if log.exists() and "listening for SMTP" in log.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise HarnessError("exim did not start listening within 15 s")

    def stop(self) -> None:
        """Stop the daemon."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def messages(self) -> list[EmailMessage]:
        """The messages queued so far, oldest first (headers from ``-H``, body from ``-D``)."""
        found = []
        for header_file in sorted((self.spool / "input").glob("*-H"), key=lambda p: p.stat().st_mtime):
            data_file = header_file.with_name(header_file.name[:-2] + "-D")
            headers = _headers(header_file.read_bytes())
            body = data_file.read_bytes().split(b"\n", 1)[1]
            msg = message_from_bytes(headers + b"\n" + body, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            found.append(msg)
        return found

    def log(self) -> str:
        """Exim's main log (the ``<=`` lines show the protocol, TLS cipher and AUTH of each message)."""
        path = self.spool / "mainlog"
        return path.read_text(errors="replace") if path.exists() else ""


def _headers(spool_h: bytes) -> bytes:
    """The message headers of a ``-H`` spool file: after the envelope's blank line, ``NNNf Name: value``
    lines (``NNN`` the length, ``f`` a flag; ``*`` marks a deleted header) and their continuation lines."""
    out: list[bytes] = []
    keep = False
    for line in spool_h.partition(b"\n\n")[2].split(b"\n"):
        head = _HEADER.match(line)
        if head is not None:
            keep = head.group(1) != b"*"
            if keep:
                out.append(head.group(2))
        elif keep and line[:1] in {b" ", b"\t"}:
            out.append(line)
    return b"\n".join(out) + b"\n"
