"""A local early-warning webhook receiver: a stdlib HTTP server on a thread that checks every delivery's
HMAC-SHA256 signature, records bodies and idempotency keys, and can go down and come back on one port.

Used by the rules tests, the fault suite and the demo (where it stands in for the province's system).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from stationpipe.rules.channels.webhook import IDEMPOTENCY, SIGNATURE, sign
from stationpipe.testbed.httpd import QuietHandler, Serving
from stationpipe.testbed.services import free_port


@dataclass
class Receiver:
    """Records signed POSTs; a bad signature is counted (and still answered 204, so it shows in tests)."""

    secret: str = field(default_factory=lambda: secrets.token_hex(8))
    port: int = field(default_factory=free_port)
    posts: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    serving: Serving | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.port}/hook"

    def record(self, signature: str, key: str, body: bytes) -> None:
        """Check and keep one delivery."""
        with self.lock:
            if not hmac.compare_digest(signature, sign(self.secret.encode(), body)):
                self.bad_signatures += 1
            self.keys.append(key)
            self.posts.append(json.loads(body))

    def start(self) -> None:
        """Serve on the same port every time."""
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.record(self.headers.get(SIGNATURE, ""), self.headers.get(IDEMPOTENCY, ""), body)
                self.send_response(204)
                self.end_headers()

        self.serving = Serving(self.port, Handler)

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self.serving is not None:
            self.serving.stop()
            self.serving = None

    def unique(self) -> list[dict[str, Any]]:
        """Deliveries once each (a retried delivery carries the same idempotency key)."""
        with self.lock:
            seen: dict[str, dict[str, Any]] = {}
            for key, post in zip(self.keys, self.posts, strict=True):
                seen.setdefault(key, post)
            return list(seen.values())
