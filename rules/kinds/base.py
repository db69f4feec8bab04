"""What every rule kind has in common: the :class:`Outcome` of one evaluation and the :class:`Kind` protocol.

A kind is pure: it gets the station, one reading (in reading-time order per station) and its own mutable,
JSON-able series state (``dict``), and says whether its condition holds, at which level, and whether the
separate *clear* condition (hysteresis) holds. The lifecycle (:mod:`rules.lifecycle`) does the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from station.catalogue import CATALOGUE
from station.messages import Derived
from station.reading import Reading
from station.registry import StationInfo

#: Mutable, JSON-serialisable state of one series (rule x station x parameter); persisted as is.
Series = dict[str, Any]


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


def quiet(
    value: float | None = None,
    limit: float | None = None,
    *,
    clear: bool = True,
    derived: tuple[Derived, ...] = (),
) -> Outcome:
    """The condition does not hold; ``clear=False`` keeps a firing instance firing (hysteresis band)."""
    return Outcome(0, clear, value, limit, None, "", "", None, derived)


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
    return Outcome(level, False, value, limit, multiple, zh, en, expected, derived)  # noqa: FBT003 - hot path


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


def label(code: str) -> tuple[str, str]:
    """Chinese and English names of a parameter for messages: ``("氨氮 NH3-N", "NH3-N")``."""
    p = CATALOGUE.get(code)
    return (p.label, p.symbol) if p else (code, code)


def fmt(value: float | None) -> str:
    """A value for a message: up to 4 significant digits."""
    return "-" if value is None else f"{value:.4g}"


def epoch(ts: datetime) -> float:
    """Seconds since the epoch (UTC): how instants are kept in series state."""
    return ts.timestamp()
