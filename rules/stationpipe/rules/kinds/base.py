"""What every rule kind has in common: the :class:`Outcome` of one evaluation and the :class:`Kind` protocol.

A kind is pure: it gets the station, one reading (in reading-time order per station) and its own mutable,
JSON-able series state (``dict``), and says whether its condition holds, at which level, and whether the
separate *clear* condition (hysteresis) holds. The lifecycle
(:mod:`stationpipe.rules.lifecycle`) does the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.messages import Derived
from stationpipe.kernel.reading import Flag, Reading
from stationpipe.kernel.registry import StationInfo

#: Mutable, JSON-serialisable state of one series (rule x station x parameter); persisted as is.
Series = dict[str, Any]
#: The one flag whose values count (:attr:`Flag.valid`): ``reading.flag is VALID`` on the hot paths, which
#: spares a property call per reading and rule.
VALID = Flag.N


class Outcome(NamedTuple):
    """One evaluation. ``level`` 0 means the condition does not hold; then ``clear`` says whether the
    clear condition holds too (``False``: inside the hysteresis band, a firing instance stays firing).

    ``value`` / ``limit`` are in the parameter's unit; ``multiple`` is the exceedance multiple (超标倍数);
    ``zh`` / ``en`` are the two halves of the operator message; ``expected`` a predicted crossing time.

    Immutable; a named tuple rather than a frozen dataclass because kinds build one or two per reading
    (the hot path of the engine) and a frozen dataclass costs several times more to construct.
    """

    level: int
    clear: bool = True
    value: float | None = None
    limit: float | None = None
    multiple: float | None = None
    zh: str = ""
    en: str = ""
    expected: datetime | None = None
    derived: tuple[Derived, ...] = ()

    @property
    def message(self) -> str:
        """``"<中文> / <English>"``."""
        return f"{self.zh} / {self.en}" if self.zh else self.en


QUIET = Outcome(0)
#: ``tuple.__new__``: builds an :class:`Outcome` from all its fields in C, without the named tuple's
#: Python-level ``__new__`` (its defaults and keywords); :func:`quiet` and :func:`active` give every field.
_tuple_new = tuple.__new__


def quiet(
    value: float | None = None,
    limit: float | None = None,
    *,
    clear: bool = True,
    derived: tuple[Derived, ...] = (),
) -> Outcome:
    """The condition does not hold; ``clear=False`` keeps a firing instance firing (hysteresis band)."""
    return _tuple_new(Outcome, (0, clear, value, limit, None, "", "", None, derived))


def active(
    level: int,
    value: float | None,
    limit: float | None,
    zh: str,
    en: str,
    *,
    multiple: float | None = None,
    expected: datetime | None = None,
    derived: tuple[Derived, ...] = (),
) -> Outcome:
    """The condition holds at ``level`` (1..4), with the bilingual message halves."""
    return _tuple_new(Outcome, (level, False, value, limit, multiple, zh, en, expected, derived))


class Kind(Protocol):
    """A rule kind bound to one rule definition."""

    @property
    def name(self) -> str:
        """The rule's name."""

    def watches(self, info: StationInfo, parameter: str) -> bool:
        """True when a reading of ``parameter`` at ``info`` is evaluated by this rule."""

    def instance(self, reading: Reading) -> str:
        """The instance's parameter part (usually the reading's parameter)."""

    def evaluate(self, info: StationInfo, reading: Reading, series: Series) -> Outcome | None:
        """Evaluate one reading; ``None`` when it says nothing (e.g. an invalid flag for a value rule)."""


#: :func:`label` of every catalogue code, built once (the catalogue is immutable).
_LABELS: dict[str, tuple[str, str]] = {code: (p.label, p.symbol) for code, p in CATALOGUE.items()}


def label(code: str) -> tuple[str, str]:
    """Chinese and English names of a parameter for messages: ``("氨氮 NH3-N", "NH3-N")``."""
    return _LABELS.get(code) or (code, code)


def fmt(value: float | None) -> str:
    """A value for a message: up to 4 significant digits."""
    return "-" if value is None else f"{value:.4g}"


def epoch(ts: datetime) -> float:
    """Seconds since the epoch (UTC): how instants are kept in series state."""
    return ts.timestamp()
