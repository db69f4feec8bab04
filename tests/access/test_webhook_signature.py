"""Webhook signatures: the rules engine's webhook sink POSTs real notifications to a receiver that checks
``X-Stationpipe-Signature`` on its own (HMAC-SHA256 of the exact body bytes with the shared key, compared
in constant time, as rules/channels/webhook.py tells an early-warning system to do) and answers 401 to
anything that does not verify: a body changed in transit, a wrong key, a missing signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from stationpipe.kernel.errors import RejectedError
from stationpipe.rules.channels.webhook import IDEMPOTENCY, SIGNATURE, WebhookSink
from stationpipe.rules.config import WebhookSettings
from stationpipe.rules.lifecycle import Change, Instance, Phase
from stationpipe.rules.notify import notification
from stationpipe.testbed.httpd import QuietHandler, Serving
from stationpipe.testbed.services import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
KEY = "acc-webhook-key-0123456789"
Tamper = Callable[[bytes], bytes]


@dataclass
class VerifyingReceiver:
    """An early-warning endpoint: 204 for a verified delivery, 401 otherwise. ``tamper`` changes the body
    bytes before they are checked, as a man in the middle would have changed them."""

    key: bytes
    tamper: Tamper = field(default=lambda body: body)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    port: int = field(default_factory=free_port)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where the sink POSTs."""
        return f"http://127.0.0.1:{self.port}/early-warning"

    def verify(self, body: bytes, header: str) -> bool:
        """The receiver's own check (not stationpipe's code): ``sha256=<hex HMAC-SHA256(key, body)>``."""
        expected = "sha256=" + hmac.new(self.key, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header)

    def handle(self, body: bytes, header: str, key: str) -> int:
        """Check one delivery; the HTTP status to answer."""
        body = self.tamper(body)
        with self.lock:
            if not self.verify(body, header):
                self.refused += 1
                return 401
            doc = json.loads(body)
            assert doc["id"] == key  # the idempotency key is the notification id
            self.accepted.append(doc)
            return 204


@pytest.fixture
def receiver() -> Iterator[VerifyingReceiver]:
    """A verifying receiver serving on a thread."""
    rx = VerifyingReceiver(KEY.encode())

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = rx.handle(body, self.headers.get(SIGNATURE, ""), self.headers.get(IDEMPOTENCY, ""))
            self.send_response(status)
            self.end_headers()

    serving = Serving(rx.port, Handler)
    yield rx
    serving.stop()


def _body(level: int = 3) -> dict[str, Any]:
    """A real notification body, as the engine builds it (氨氮 over its class III limit)."""
    since = datetime(2026, 11, 22, 1, 0, tzinfo=UTC).timestamp()
    inst = Instance(
        "acc-a",
        "section",
        "nh3n",
        phase=Phase.FIRING,
        level=level,
        since=since,
        value=2.1,
        limit=1.0,
        multiple=1.1,
        zh="氨氮 NH3-N 2.1 mg/L 超过Ⅲ类限值 1.0",
        en="NH3-N 2.1 mg/L above class III limit 1.0",
        fired=True,
    )
    return notification(inst, Change.FIRING, None, since + 600).to_json()


def _sink(monkeypatch: pytest.MonkeyPatch, url: str, key: str = KEY) -> WebhookSink:
    monkeypatch.setenv("ACC_WEBHOOK_KEY", key)
    settings = WebhookSettings.model_validate({"url": url, "secret_env": "ACC_WEBHOOK_KEY", "timeout": 5})
    assert key not in repr(settings)
    return WebhookSink(settings)


async def test_real_deliveries_verify(receiver: VerifyingReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = _sink(monkeypatch, receiver.url)
    try:
        for level in (2, 3, 4):
            await sink.send(_body(level))
    finally:
        await sink.aclose()
    assert receiver.refused == 0
    assert [doc["level"] for doc in receiver.accepted] == [2, 3, 4]
    assert receiver.accepted[0]["message"]["zh"].startswith("黄色预警 氨氮")  # UTF-8 signed as sent


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b'"level":4', b'"level":1'),  # downgrade a red warning
        lambda body: body.replace(b'"value":2.1', b'"value":0.1'),
        lambda body: body + b" ",  # even whitespace
        lambda body: body.replace("氨氮".encode(), "总磷".encode()),
    ],
    ids=["level", "value", "whitespace", "text"],
)
async def test_a_tampered_body_fails_verification(
    receiver: VerifyingReceiver, monkeypatch: pytest.MonkeyPatch, tamper: Tamper
) -> None:
    body = _body(4)
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert tamper(raw) != raw, "the tamper must change something"
    receiver.tamper = tamper
    sink = _sink(monkeypatch, receiver.url)
    try:
        with pytest.raises(RejectedError, match="401"):  # 4xx: dropped, never retried
            await sink.send(body)
    finally:
        await sink.aclose()
    assert receiver.refused == 1
    assert receiver.accepted == []


async def test_a_wrong_key_or_no_signature_is_refused(
    receiver: VerifyingReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = _sink(monkeypatch, receiver.url, key="not-" + KEY)
    try:
        with pytest.raises(RejectedError, match="401"):
            await sink.send(_body())
    finally:
        await sink.aclose()
    assert receiver.handle(json.dumps(_body()).encode(), "", _body()["id"]) == 401
    assert receiver.refused == 2
    assert receiver.accepted == []
