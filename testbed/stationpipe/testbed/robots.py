"""Local stand-ins for the DingTalk robot, the WeCom robot and an SMS gateway: stdlib HTTP servers on a
thread that check each request the way the provider documents it and answer the way the provider does.

- :class:`DingTalkRobot` recomputes the sign from the ``timestamp`` and its own secret (HMAC-SHA256 over
  ``"<timestamp>\\n<secret>"`` keyed by the secret, Base64, URL-encoded), refuses a timestamp more than an
  hour off, an unknown access_token, and a markdown message without a title and text, or whose
  ``at.atMobiles`` are not each written ``@<phone>`` in the text; it answers ``{"errcode": 0, ...}`` or
  DingTalk's error codes (310000 for a bad sign, 300001 for a bad token).
- :class:`WeComRobot` checks the ``key`` and a markdown content of at most 4096 bytes (93000 / 40058).
- :class:`SmsGateway` checks a bearer token and records ``{"to", "text"}`` JSON bodies.

Each records what it accepted and its ``Idempotency-Key`` header; ``answers`` queues answers to give
instead (``(status, json)``), to play a rate limit or an outage. Used by the channel tests and the demo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from stationpipe.testbed.httpd import QuietHandler, Serving
from stationpipe.testbed.services import free_port

Answer = tuple[int, dict[str, Any]]
OK: Answer = (200, {"errcode": 0, "errmsg": "ok"})


def dingtalk_sign(timestamp: str, secret: str) -> str:
    """The sign DingTalk expects, computed as its documentation says (not by the code under test)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(mac))


@dataclass
class Robot(ABC):
    """The shared HTTP server: ``check(query, headers, body)`` returns the answer, recording accepted ones."""

    port: int = field(default_factory=free_port)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    serving: Serving | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The base URL to configure."""
        return f"http://127.0.0.1:{self.port}/send"

    @abstractmethod
    def check(self, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]) -> Answer:
        """The provider's answer to one request: each provider's receiver says how it checks."""

    def handle(self, raw_query: str, headers: dict[str, str], raw: bytes) -> Answer:
        """Answer one request: a queued answer first, else the provider's check."""
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
            try:
                body = json.loads(raw)
            except ValueError:
                self.refused.append("not JSON")
                return 200, {"errcode": 40035, "errmsg": "invalid json"}
            status, answer = self.check(query, headers, body)
            if answer.get("errcode", 0) == 0 and status == 200:
                self.accepted.append(body)
                self.keys.append(headers.get("idempotency-key", ""))
            else:
                self.refused.append(str(answer))
            return status, answer

    def start(self) -> None:
        """Serve on the same port every time."""
        robot = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                query = self.path.partition("?")[2]
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["x-raw-query"] = query
                status, answer = robot.handle(query, headers, raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.serving = Serving(self.port, Handler)

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self.serving is not None:
            self.serving.stop()
            self.serving = None

    def unique(self) -> dict[str, dict[str, Any]]:
        """Accepted messages once per idempotency key."""
        with self.lock:
            out: dict[str, dict[str, Any]] = {}
            for key, body in zip(self.keys, self.accepted, strict=True):
                out.setdefault(key, body)
            return out


@dataclass
class DingTalkRobot(Robot):
    """A DingTalk custom robot with signing (加签)."""

    token: str = field(default_factory=lambda: secrets.token_hex(16))
    secret: str = field(default_factory=lambda: "SEC" + secrets.token_hex(16))

    def check(self, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]) -> Answer:
        """DingTalk's checks, in its order: token, timestamp and sign, then the message."""
        if query.get("access_token") != self.token:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        stamp = query.get("timestamp", "")
        raw_sign = _raw_param(headers["x-raw-query"], "sign")
        if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > 3_600_000:
            return 200, {"errcode": 310000, "errmsg": "timestamp is not valid"}
        if raw_sign != dingtalk_sign(stamp, self.secret):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        problem = _markdown_problem(body)
        if problem:
            return 200, {"errcode": 40035, "errmsg": problem}
        return OK


def _raw_param(query: str, name: str) -> str:
    """A query parameter as sent (still URL-encoded), to compare with the documented encoding."""
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return ""


def _markdown_problem(body: dict[str, Any]) -> str:
    if body.get("msgtype") != "markdown":
        return "msgtype must be markdown"
    md = body.get("markdown") or {}
    if not md.get("title") or not md.get("text"):
        return "markdown needs title and text"
    for mobile in (body.get("at") or {}).get("atMobiles", []):
        if f"@{mobile}" not in md["text"]:
            return f"@{mobile} is in atMobiles but not in the text"
    return ""


@dataclass
class WeComRobot(Robot):
    """A WeCom group robot."""

    key: str = field(default_factory=lambda: secrets.token_hex(16))

    def check(self, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]) -> Answer:  # noqa: ARG002
        """WeCom's checks: the key, then a markdown content within 4096 bytes."""
        if query.get("key") != self.key:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        content = (body.get("markdown") or {}).get("content", "")
        if body.get("msgtype") != "markdown" or not content:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return OK


@dataclass
class SmsGateway(Robot):
    """An SMS gateway: bearer token, JSON ``{"to": phone, "text": message}``, answers ``{"code": "OK"}``."""

    token: str = field(default_factory=lambda: secrets.token_hex(16))

    def check(self, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]) -> Answer:  # noqa: ARG002
        """Bearer token, a phone number and a text."""
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"code": "UNAUTHORIZED"}
        if not str(body.get("to", "")).isdigit() or not body.get("text"):
            return 200, {"code": "BAD_REQUEST"}
        return 200, {"code": "OK"}

    def handle(self, raw_query: str, headers: dict[str, str], raw: bytes) -> Answer:  # noqa: ARG002
        """As :meth:`Robot.handle`, success being ``code == "OK"``."""
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            body = json.loads(raw)
            status, answer = self.check({}, headers, body)
            if status == 200 and answer.get("code") == "OK":
                self.accepted.append(body)
                self.keys.append(headers.get("idempotency-key", ""))
            else:
                self.refused.append(str(answer))
            return status, answer
