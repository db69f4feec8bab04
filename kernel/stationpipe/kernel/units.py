"""Units: the catalogue's canonical unit of each parameter, and the instrument units that convert to it.

Gas analysers often report mixing ratios (ppb, ppm); the catalogue stores mass concentrations, ug/m3
(CO mg/m3), at the reference state of HJ 633-2012 / GB 3095-2012: 298.15 K and 1013.25 hPa, where one
mole of gas fills R*T/p = 24.465 L. The edge converts what it reads into the canonical unit before
publishing (docs/design.md#style: one Reading, canonical units end to end); simulators convert the other way.
"""

from __future__ import annotations

from stationpipe.kernel.catalogue import parameter as catalogue_row

#: Molar volume at the reference state (298.15 K, 1013.25 hPa), L/mol: R*T/p.
MOLAR_VOLUME = 8.314462618 * 298.15 / 101.325
#: Molar masses of the gases measured as mixing ratios, g/mol; NOx is reckoned as NO2 (GB 3095-2012).
MOLAR_MASS = {"so2": 64.064, "no2": 46.0055, "co": 28.0101, "o3": 47.9982, "no": 30.0061, "nox": 46.0055}
_MASS_FACTOR = {"ug/m3": 1.0, "mg/m3": 1000.0}  # to ug/m3
_MIXING_FACTOR = {"ppb": 1.0, "ppm": 1000.0}  # to ppb


def _factor(parameter: str, unit: str) -> float:
    """How many canonical units one ``unit`` is; ``ValueError`` when the two do not convert."""
    canonical = catalogue_row(parameter).unit
    if unit == canonical:
        return 1.0
    if canonical in _MASS_FACTOR and unit in _MASS_FACTOR:
        return _MASS_FACTOR[unit] / _MASS_FACTOR[canonical]
    if canonical in _MASS_FACTOR and unit in _MIXING_FACTOR and parameter in MOLAR_MASS:
        ug_m3 = _MIXING_FACTOR[unit] * MOLAR_MASS[parameter] / MOLAR_VOLUME
        return ug_m3 / _MASS_FACTOR[canonical]
    raise ValueError(f"cannot convert {parameter} between {unit!r} and its unit {canonical!r}")


def to_canonical(parameter: str, value: float, unit: str) -> float:
    """``value`` in ``unit`` expressed in the catalogue's unit of ``parameter``."""
    return value * _factor(parameter, unit)


def convert(parameter: str, value: float, unit: str) -> float:
    """``value`` (canonical unit of ``parameter``) expressed in ``unit``; ``ValueError`` if impossible."""
    return value / _factor(parameter, unit)


def check_unit(parameter: str, unit: str) -> None:
    """Fail at start-up, not at the first read, when ``unit`` does not convert to the canonical one."""
    _factor(parameter, unit)
