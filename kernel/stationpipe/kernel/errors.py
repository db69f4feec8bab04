"""The one exception tree of stationpipe.

Every failure is classified by what happens next, so callers catch a category, not a library::

    StationpipeError
    ├── FatalError            stop the process with a clear message
    │   ├── ConfigError         a configuration file is wrong (file, key path, reason)
    │   └── StoreAuthError      the database refused our credentials (401/403)
    ├── TransientError        retry with stationpipe.kernel.backoff
    │   ├── DeviceError         an instrument did not answer or answered with an exception
    │   │   ├── DeviceTimeoutError
    │   │   ├── DeviceExceptionError   (Modbus exception code)
    │   │   ├── DeviceChecksumError    an answer arrived with a wrong checksum (line noise)
    │   │   └── DeviceOfflineError     the link is down (a DTU not dialled in): no request was made
    │   ├── BrokerUnavailableError   the MQTT broker cannot be reached or dropped the connection
    │   ├── UndeliveredError         the broker took a message but did not deliver it (PUBACK reason)
    │   └── StoreUnavailableError    the database cannot be reached or answered 5xx / 429 / 503
    └── RejectedError         drop to the dead-letter topic with the reason
        ├── WireError           a payload or topic does not fit the wire format (names the field)
        ├── StoreRejectedError       the database refused specific points (400)
        └── StoreTooLargeError       the database refused a request as too large (413): split it

Third-party exceptions are translated once, at the boundary, with ``raise … from exc`` (aiomqtt's in
stationpipe.kernel.mqtt). A task group wraps what its tasks raise in exception groups, nested one level a
task group; :func:`first_error` finds the error itself, for a log line that says what happened.
"""

from __future__ import annotations


class StationpipeError(Exception):
    """Base of every error stationpipe raises on purpose."""


class FatalError(StationpipeError):
    """Nothing will fix this by waiting: stop and tell the operator."""


class TransientError(StationpipeError):
    """Likely to pass: retry with backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: Seconds the peer asked us to wait (HTTP Retry-After), if it said.
        self.retry_after = retry_after


class RejectedError(StationpipeError):
    """This input will never be accepted: send it to the dead-letter topic with the reason."""


class ConfigError(FatalError):
    """A configuration file is invalid. The message names the file, the key path and the reason."""

    def __init__(self, file: str, path: str, reason: str) -> None:
        self.file = file
        self.path = path
        self.reason = reason
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {reason}")


class StoreAuthError(FatalError):
    """The database refused our credentials."""


class DeviceError(TransientError):
    """An instrument read failed; its points are flagged B and the poll goes on."""


class DeviceTimeoutError(DeviceError):
    """The instrument did not answer in time."""


class DeviceChecksumError(DeviceError):
    """An answer arrived but its checksum (a Bavarian-Hessen BCC, ...) does not match: line noise."""


class DeviceOfflineError(DeviceError):
    """The link to the instrument is down (a DTU that has not dialled in, or whose connection dropped): the
    request failed at once, without touching a line; polling again costs nothing, so it is not backed off."""


class DeviceSilentError(DeviceOfflineError):
    """A pushing instrument sent nothing fresh: its points are B and it counts as not answering, but
    nothing is asked of it, so it is not backed off (its next record is read at once); counted as
    ``no_answer``."""


class DeviceExceptionError(DeviceError):
    """The instrument answered with a Modbus exception response."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class BrokerUnavailableError(TransientError):
    """The MQTT broker cannot be reached or dropped the connection."""


class UndeliveredError(TransientError):
    """The broker acknowledged a message but gave it to no subscriber, or refused it (an MQTT 5 reason).

    ``reason`` is the PUBACK's reason code and ``name`` what MQTT 5 calls it (``No matching subscribers``,
    ``Not authorized``; stationpipe.kernel.mqtt.undelivered fills it in). The sender keeps the message and
    sends it again later.
    """

    def __init__(self, topic: str, reason: int, name: str = "") -> None:
        what = "no subscriber took it" if reason == 0x10 else "the broker refused it"
        super().__init__(f"{topic}: {what} ({name or 'PUBACK reason'} 0x{reason:02x})")
        self.topic, self.reason, self.name = topic, reason, name


class StoreUnavailableError(TransientError):
    """The database is down, overloaded or answered a server error."""


class WireError(RejectedError):
    """A payload or topic does not fit the wire format; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class StoreRejectedError(RejectedError):
    """The database refused points for a reason that retrying will not change."""


class StoreTooLargeError(RejectedError):
    """The database refused a request as too large (413): write it in smaller parts."""


def leaves(exc: BaseException) -> list[BaseException]:
    """The errors inside ``exc`` that are not themselves groups, in order (``[exc]`` for a plain one)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def reasons(group: BaseExceptionGroup[BaseException]) -> str:
    """What went wrong, without the groups' wrapping: each distinct leaf message once, in order."""
    return "; ".join(dict.fromkeys(str(leaf) for leaf in leaves(group)))


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error in ``group`` that is not itself a group (what ``except*`` caught, unwrapped)."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found
