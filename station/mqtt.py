"""MQTT connection settings and the one place an MQTT client is built (aiomqtt on paho-mqtt 2.x)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import aiomqtt
from pydantic import Field, SecretStr, model_validator

from station.config import ConfigPath, Model, secret

QOS = 1  # every topic of DESIGN.md is QoS 1


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


def make_client(
    settings: MqttSettings,
    *,
    will: aiomqtt.Will | None = None,
    clean_session: bool = True,
    client_id_suffix: str = "",
    **kwargs: Any,
) -> aiomqtt.Client:
    """Build (not connect) an aiomqtt client from settings; use it as ``async with``."""
    password = settings.password()
    tls: aiomqtt.TLSParameters | None = None
    if settings.ca_file is not None:
        tls = aiomqtt.TLSParameters(
            ca_certs=str(Path(settings.ca_file)),
            certfile=str(settings.cert_file) if settings.cert_file else None,
            keyfile=str(settings.key_file) if settings.key_file else None,
        )
    protocol = aiomqtt.ProtocolVersion.V5 if settings.protocol == "5" else aiomqtt.ProtocolVersion.V311
    return aiomqtt.Client(
        settings.host,
        settings.port,
        identifier=settings.client_id + client_id_suffix,
        username=settings.username,
        password=password.get_secret_value() if password else None,
        keepalive=settings.keepalive,
        timeout=settings.timeout,
        will=will,
        clean_session=clean_session if protocol is aiomqtt.ProtocolVersion.V311 else None,
        tls_params=tls,
        protocol=protocol,
        **kwargs,
    )


def enable_manual_ack(client: aiomqtt.Client) -> None:
    """Acknowledge QoS 1 messages only when ``ack`` is called (after they are durable).

    aiomqtt has no public switch for this; paho-mqtt 2.x has, on the client aiomqtt wraps.
    """
    client._client.manual_ack_set(on=True)  # noqa: SLF001 - the one place we reach into aiomqtt


def ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Send the PUBACK for a message received with manual acknowledgement."""
    client._client.ack(message.mid, message.qos)  # noqa: SLF001


def ready_messages(client: aiomqtt.Client, limit: int) -> list[aiomqtt.Message]:
    """Up to ``limit`` messages already received and queued in the client, without waiting.

    A consumer under load takes them in one go instead of awaiting each through aiomqtt's iterator (a
    task and a wait per message); taking from the queue synchronously cannot lose a message.
    """
    queue = client._queue  # noqa: SLF001 - aiomqtt has no public batch get
    out: list[aiomqtt.Message] = []
    while len(out) < limit and not queue.empty():
        out.append(queue.get_nowait())
    return out
