"""MQTT connection settings and the one place an MQTT client is built (aiomqtt on paho-mqtt 2.x).

This module (with :mod:`stationpipe.kernel.mqtt_socket`) is the project's one MQTT boundary: services
use its :class:`Client`, ``Message`` and ``Will`` and never import aiomqtt or paho-mqtt themselves
(import-linter checks it). Every aiomqtt error the client raises (connect, subscribe, publish, the
message iterator, disconnect) is translated here, once, into
:class:`~stationpipe.kernel.errors.BrokerUnavailableError` carrying aiomqtt's reason (and the reason the
connection was lost, when aiomqtt gives one); a PUBACK that says the broker did not deliver a message
becomes :class:`~stationpipe.kernel.errors.UndeliveredError` named after its MQTT 5 reason code
(:func:`undelivered`).

The private-API layer. aiomqtt has no public way to acknowledge manually, to take the messages already
received without awaiting each, or to see a PUBACK's reason code, so :class:`Client` and the helpers
below reach into aiomqtt and paho-mqtt; every private name they rely on is listed in :data:`PRIVATE_API`,
and tests/unit/test_mqtt_private_api.py fails, naming the one that went, when an upgrade drops one.
``pyproject.toml`` pins ``aiomqtt>=2.4``: the read-ahead needs the read loop 2.4 gained, which keeps
reading while the socket says ``pending()``.

Where the throughput tricks pay: the collector is the one client that takes tens of thousands of
messages a second; it and the rules engine (whose backlog under load they drain: one PUBACK written per
message was the engine's largest cost on a busy machine) use the batched PUBACKs (:func:`ack_all`) and
batch reads (:func:`ready_messages`). The read-ahead socket, the empty-first topic matcher and the
cheaper message builder apply to every :class:`Client` (they are on the receiving path the rules engine
shares with it, and cost nothing where little is received); they are what the collector's ingest
benchmark measures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, NoReturn, Self

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import Field, SecretStr, model_validator

from stationpipe.kernel.config import ConfigPath, Model, secret
from stationpipe.kernel.errors import BrokerUnavailableError, UndeliveredError
from stationpipe.kernel.mqtt_socket import EmptyFirstMatcher, message_from_paho, puback_blob, read_ahead

QOS = 1  # every topic of docs/design.md#mqtt is QoS 1
#: MQTT 5 PUBACK reason code: the broker accepted the message and had no subscriber to give it to.
NO_MATCHING_SUBSCRIBERS = 0x10
#: MQTT 5 session expiry for persistent sessions: a week, so a consumer down over a weekend misses nothing.
SESSION_EXPIRY = 7 * 24 * 3600

#: What services type a received message and a last will with (aiomqtt's, named here so that only this
#: module imports aiomqtt).
Message = aiomqtt.Message
Will = aiomqtt.Will

#: Every private aiomqtt / paho-mqtt name this module and mqtt_socket rely on, as (owner, dotted path from
#: it). The owners are: ``aiomqtt.Client`` and ``paho.Client`` (instances: some are set in ``__init__``),
#: ``paho.MQTTMessage`` and ``paho.MQTTMatcher`` (instances). tests/unit/test_mqtt_private_api.py checks
#: each against the installed versions.
PRIVATE_API: tuple[tuple[str, str], ...] = (
    ("aiomqtt.Client", "_client"),  # the paho client aiomqtt wraps
    ("aiomqtt.Client", "_queue"),  # received messages (ready_messages)
    ("aiomqtt.Client", "_logger"),  # Client._on_message: the queue-full warning
    ("aiomqtt.Client", "_on_message"),  # overridden: message_from_paho
    ("aiomqtt.Client", "_on_publish"),  # overridden: keeps the PUBACK reason code
    ("aiomqtt.Client", "_pending_publishes"),  # publish_acked: who awaits which PUBACK
    ("aiomqtt.Client", "_pending_call"),  # publish_acked
    ("aiomqtt.Client", "_wait_for"),  # publish_acked
    ("aiomqtt.Client", "_on_socket_open"),  # aiomqtt's read loop, which asks the socket for pending()
    ("paho.Client", "_create_socket"),  # wrapped: read_ahead
    ("paho.Client", "_on_message_filtered"),  # replaced: EmptyFirstMatcher
    ("paho.Client", "_manual_ack"),  # ack_all: is manual acknowledgement on?
    ("paho.Client", "_packet_queue"),  # ack_all: one write for a batch of PUBACKs
    ("paho.Client", "_sock"),  # aiomqtt's read loop asks it for pending()
    ("paho.MQTTMessage", "_topic"),  # message_from_paho: the raw topic bytes
    ("paho.MQTTMatcher", "_root._children"),  # EmptyFirstMatcher: is the trie empty?
)


def broker_error(exc: aiomqtt.MqttError) -> BrokerUnavailableError:
    """The project's error for an aiomqtt one, with its reason and the reason the connection was lost."""
    reason = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in reason:
        reason = f"{reason}: {cause}"
    return BrokerUnavailableError(reason)


def _raise_translated(exc: aiomqtt.MqttError) -> NoReturn:
    raise broker_error(exc) from exc


def undelivered(topic: str, reason: int) -> UndeliveredError:
    """The error for a PUBACK with reason code ``reason`` (0x10 or >= 0x80), named as MQTT 5 names it."""
    try:
        name = str(ReasonCode(PacketTypes.PUBACK, identifier=reason))
    except KeyError:  # paho raises it for a code MQTT 5 does not define for PUBACK
        name = ""
    return UndeliveredError(topic, reason, name)


class _Messages(aiomqtt.MessagesIterator):
    """aiomqtt's message iterator; a lost connection raises ``BrokerUnavailableError`` with its reason."""

    async def __anext__(self) -> aiomqtt.Message:
        try:
            return await super().__anext__()
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)


#: What a consumer's ``shared`` setting means, for its config's field description.
SHARED_HELP = (
    "true: a shared subscription ($share/<group>/...), so several instances split the load; false: a plain "
    "one, for a single instance. A broker that restarts restores a persistent session's plain "
    "subscriptions, but Mosquitto 2.0 does not restore shared ones: what the edges send before the "
    "consumer subscribes again reaches nobody (docs/broker_restart.md)"
)


def subscription(topic: str, group: str, *, shared: bool) -> str:
    """The filter a consumer subscribes to: ``topic`` shared in ``group``, or plain."""
    return f"$share/{group}/{topic}" if shared else topic


class MqttSettings(Model):
    """Where and how a service connects to the broker. The password comes from the environment or a file."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = Field(min_length=1, max_length=64)
    username: str | None = None
    password_env: str | None = None
    password_file: ConfigPath | None = None
    keepalive: int = Field(default=30, ge=5, le=3600)
    timeout: float = Field(default=10.0, gt=0, description="seconds for connect and each publish")
    ca_file: ConfigPath | None = Field(default=None, description="CA bundle: enables TLS")
    cert_file: ConfigPath | None = Field(default=None, description="client certificate (PEM), with key_file")
    key_file: ConfigPath | None = None
    protocol: Literal["3.1.1", "5"] = "3.1.1"

    @model_validator(mode="after")
    def _one_secret_source(self) -> MqttSettings:
        if self.password_env and self.password_file:
            raise ValueError("give password_env or password_file, not both")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("a client certificate needs ca_file (TLS)")
        secret(self.password_env, self.password_file)  # fail at start-up, not at first connect
        return self

    def password(self) -> SecretStr | None:
        """The broker password, read when needed so it never sits in the model's repr."""
        return secret(self.password_env, self.password_file)


class Client(aiomqtt.Client):
    """aiomqtt's client, which can also tell what the broker did with a QoS 1 message (MQTT 5)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reasons: dict[int, int] = {}
        # plain TCP connections read ahead (station/mqtt_socket.py): a few syscalls per packet fewer
        paho_client = self._client
        paho_client._create_socket = read_ahead(paho_client._create_socket)  # type: ignore[method-assign]  # noqa: SLF001
        paho_client._on_message_filtered = EmptyFirstMatcher()  # noqa: SLF001 - aiomqtt adds no filters

    async def __aenter__(self) -> Self:
        try:
            return await super().__aenter__()
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await super().__aexit__(*exc_info)
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)

    @property
    def messages(self) -> _Messages:
        """The received messages, as aiomqtt's iterator (errors translated)."""
        return _Messages(self)

    async def subscribe(self, /, *args: Any, **kwargs: Any) -> Any:
        """aiomqtt's ``subscribe``; ``BrokerUnavailableError`` when it fails."""
        try:
            return await super().subscribe(*args, **kwargs)
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)

    async def unsubscribe(self, /, *args: Any, **kwargs: Any) -> None:
        """aiomqtt's ``unsubscribe``; ``BrokerUnavailableError`` when it fails."""
        try:
            await super().unsubscribe(*args, **kwargs)
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)

    async def publish(self, /, *args: Any, **kwargs: Any) -> None:
        """aiomqtt's ``publish``; ``BrokerUnavailableError`` when it fails or times out."""
        try:
            await super().publish(*args, **kwargs)
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)

    def _on_message(  # paho's callback signature
        self,
        client: paho.Client,  # noqa: ARG002
        userdata: Any,  # noqa: ARG002
        message: paho.MQTTMessage,
    ) -> None:
        """aiomqtt's own, with the cheaper ``message_from_paho`` (station/mqtt_socket.py)."""
        try:
            self._queue.put_nowait(message_from_paho(message))
        except asyncio.QueueFull:
            self._logger.warning("Message queue is full. Discarding message.")

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Properties
    ) -> None:
        if reason_code.value and mid in self._pending_publishes:  # someone awaits it in publish_acked
            self._reasons[mid] = reason_code.value
        super()._on_publish(client, userdata, mid, reason_code, properties)

    async def publish_acked(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1, wait for the PUBACK and return its reason code.

        0 is success; ``NO_MATCHING_SUBSCRIBERS`` means the broker took the message and gave it to
        nobody (e.g. a restarted broker that has not got its consumers' shared subscriptions back);
        0x80 and above mean it refused it (0x87: not authorised). Under MQTT 3.1.1 a broker cannot say,
        and this is always 0. aiomqtt's ``publish`` drops the reason code, hence this twin of it.
        """
        info = self._client.publish(topic, payload, QOS)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            _raise_translated(aiomqtt.MqttCodeError(info.rc, "Could not publish message"))
        try:
            if not info.is_published():
                confirmation = asyncio.Event()
                with self._pending_call(info.mid, confirmation, self._pending_publishes):
                    await self._wait_for(confirmation.wait(), timeout=None)
            return self._reasons.get(info.mid, 0)
        except aiomqtt.MqttError as exc:
            _raise_translated(exc)
        finally:
            self._reasons.pop(info.mid, None)


def _session_options(protocol: aiomqtt.ProtocolVersion, *, clean_session: bool) -> dict[str, Any]:
    """MQTT 3.1.1 keeps a session with the clean-session flag; MQTT 5 needs clean start off and an expiry."""
    if protocol is aiomqtt.ProtocolVersion.V311:
        return {"clean_session": clean_session}
    if clean_session:
        return {"clean_start": True}
    expiry = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    expiry.SessionExpiryInterval = SESSION_EXPIRY
    return {"clean_start": False, "properties": expiry}


def make_client(
    settings: MqttSettings,
    *,
    will: Will | None = None,
    clean_session: bool = True,
    client_id_suffix: str = "",
    **kwargs: Any,
) -> Client:
    """Build (not connect) an MQTT client from settings; use it as ``async with``."""
    password = settings.password()
    tls: aiomqtt.TLSParameters | None = None
    if settings.ca_file is not None:
        tls = aiomqtt.TLSParameters(
            ca_certs=str(Path(settings.ca_file)),
            certfile=str(settings.cert_file) if settings.cert_file else None,
            keyfile=str(settings.key_file) if settings.key_file else None,
        )
    protocol = aiomqtt.ProtocolVersion.V5 if settings.protocol == "5" else aiomqtt.ProtocolVersion.V311
    return Client(
        settings.host,
        settings.port,
        identifier=settings.client_id + client_id_suffix,
        username=settings.username,
        password=password.get_secret_value() if password else None,
        keepalive=settings.keepalive,
        timeout=settings.timeout,
        will=will,
        tls_params=tls,
        protocol=protocol,
        **_session_options(protocol, clean_session=clean_session),
        **kwargs,
    )


def enable_manual_ack(client: aiomqtt.Client) -> None:
    """Acknowledge QoS 1 messages only when ``ack`` is called (after they are durable).

    aiomqtt has no public switch for this; paho-mqtt 2.x has, on the client aiomqtt wraps.
    """
    client._client.manual_ack_set(on=True)  # noqa: SLF001 - the one place we reach into aiomqtt


def ack(client: aiomqtt.Client, message: Message) -> None:
    """Send the PUBACK for a message received with manual acknowledgement."""
    client._client.ack(message.mid, message.qos)  # noqa: SLF001


def ack_all(client: aiomqtt.Client, messages: Iterable[Message]) -> None:
    """Send the PUBACKs of messages received with manual acknowledgement, in order, in one write.

    What ``ack`` does for each QoS 1 message, queued to paho as one packet instead of one per message.
    """
    paho_client = client._client  # noqa: SLF001
    if not paho_client._manual_ack:  # noqa: SLF001 - paho acknowledged them itself
        return
    mids = [m.mid for m in messages if m.qos == 1]
    if mids:
        paho_client._packet_queue(paho.PUBACK, puback_blob(mids), 0, 0)  # noqa: SLF001


def ready_messages(client: aiomqtt.Client, limit: int) -> list[Message]:
    """Up to ``limit`` messages already received and queued in the client, without waiting.

    A consumer under load takes them in one go instead of awaiting each through aiomqtt's iterator (a
    task and a wait per message); taking from the queue synchronously cannot lose a message.
    """
    queue = client._queue  # noqa: SLF001 - aiomqtt has no public batch get
    out: list[Message] = []
    while len(out) < limit and not queue.empty():
        out.append(queue.get_nowait())
    return out
