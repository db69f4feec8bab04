"""A stdlib HTTP server on a loopback port, served from a daemon thread: what every local receiver of
the tests and the demo (webhook, DingTalk/WeCom/SMS robots) runs its handler in."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean (no access log on stderr)."""

    def log_message(self, *args: object) -> None:
        """Say nothing."""


class Serving:
    """``handler`` served on ``127.0.0.1:port`` until :meth:`stop`, which frees the port."""

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, close the port and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
