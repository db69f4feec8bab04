"""E-mail channel (``[delivery.email]``): SMTP with STARTTLS, the universal fallback.

One message per route to all its ``recipients``: ``From: sender``, ``Subject: <prefix> <中文> / <English>``,
a UTF-8 plain-text body (each warning in Chinese and English), ``Message-ID: <<key>@stationpipe>`` (the
idempotency key: a copy sent again after a crash carries the same Message-ID) and
``X-Stationpipe-Key: <key>``. The connection: EHLO, STARTTLS (required: a server that does not offer it,
or whose certificate does not verify against the system's CAs or ``ca_file``, is not sent to), EHLO again,
AUTH when ``username`` is given, then the message. smtplib runs in a worker thread.

Answers: a 4xx reply, a refused connection, a TLS failure or a timeout is retried; a 5xx reply (every
recipient refused, the message refused) is dropped with the reason; a refused login is retried (the
credential is fixed meanwhile, the messages wait).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from stationpipe.kernel.errors import RejectedError, TransientError
from stationpipe.rules.channel_models import EmailSettings
from stationpipe.rules.channels.base import Body, ChannelType, Link
from stationpipe.rules.channels.digest import digest, plain
from stationpipe.rules.channels.people import Message, PeopleChannel, targets, wanted
from stationpipe.rules.config import Delivery, RulesConfig

EMAIL = "email"


def compose(message: Message, settings: EmailSettings) -> EmailMessage:
    """The e-mail of one message."""
    d = digest(message.bodies, settings.timezone, settings.max_items)
    mail = EmailMessage()
    mail["From"] = settings.sender
    mail["To"] = ", ".join(message.recipients)
    mail["Subject"] = f"{settings.subject_prefix} {d.title}".strip()
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = f"<{message.key}@stationpipe>"
    mail["X-Stationpipe-Key"] = message.key
    mail.set_content("\n".join(plain(d)) + "\n", charset="utf-8")
    return mail


def _context(settings: EmailSettings) -> ssl.SSLContext:
    cafile = str(settings.ca_file) if settings.ca_file is not None else None
    return ssl.create_default_context(cafile=cafile)


def _refused(code: int, text: str) -> Exception:
    return TransientError(text) if 400 <= code < 500 else RejectedError(text)


def send_mail(settings: EmailSettings, mail: EmailMessage) -> None:
    """Deliver ``mail`` (blocking: run it in a thread); the errors of the module docstring."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise TransientError(f"smtp {settings.host}:{settings.port} offers no STARTTLS; not sending")
            smtp.starttls(context=_context(settings))
            smtp.ehlo()
            password = settings.password()
            if settings.username and password is not None:
                smtp.login(settings.username, password)
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise _refused(min(codes), f"smtp refused every recipient: {exc.recipients}") from exc
    except smtplib.SMTPAuthenticationError as exc:  # a credential to fix: keep the messages meanwhile
        raise TransientError(f"smtp login refused ({exc.smtp_code}): {exc.smtp_error!r}") from exc
    except smtplib.SMTPResponseException as exc:
        raise _refused(exc.smtp_code, f"smtp answered {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise TransientError(f"smtp {settings.host}:{settings.port}: {exc!r}") from exc


def _build(config: RulesConfig, _link: Link) -> PeopleChannel | None:
    settings = config.delivery.email
    if settings is None:
        return None

    async def post(message: Message) -> None:
        await asyncio.to_thread(send_mail, settings, compose(message, settings))

    async def close() -> None:
        """Nothing kept open: one SMTP session per message."""

    return PeopleChannel(EMAIL, settings, post, close)


def _wants(body: Body, delivery: Delivery) -> bool:
    return wanted(body, delivery.email)


def _targets(body: Body, delivery: Delivery) -> list[str]:
    return targets(body, delivery.email, per_recipient=False)


CHANNEL = ChannelType(wants=_wants, build=_build, targets=_targets)
