"""What every rule kind has in common: the :class:`Outcome` of one evaluation and the :class:`Kind` protocol.

A kind is pure: it gets the station, one reading (in reading-time order per station) and its own mutable,
JSON-able series state (``dict``), and says whether its condition holds, at which level, and whether the
separate *clear* condition (hysteresis) holds. The lifecycle (:mod:`rules.lifecycle`) does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from station.catalogue import CATALOGUE
from station.messages import Derived
from station.reading import Reading
from station.registry import StationInfo

#: Mutable, JSON-serialisable state of one series (rule x station x parameter); persisted as is.
Series = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One evaluation. ``level`` 0 means the condition does not hold; then ``clear`` says whether the
    clear condition holds too (``False``: inside the hysteresis band, a firing instance stays firing).

    ``value`` / ``limit`` are in the parameter's unit; ``multiple`` is the exceedance multiple (超标倍数);
    ``zh`` / ``en`` are the two halves of the operator message; ``expected`` a predicted crossing time.
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
    return Outcome(0, clear=clear, value=value, limit=limit, derived=derived)


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
    return Outcome(
        level,
        clear=False,
        value=value,
        limit=limit,
        multiple=multiple,
        zh=zh,
        en=en,
        expected=expected,
        derived=derived,
    )


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
