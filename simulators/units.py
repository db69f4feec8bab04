"""Unit conversion from the catalogue's canonical units to what an instrument shows.

Gas analysers often report ppb; the catalogue stores ug/m3 (CO mg/m3). Conversion uses the reference
state of HJ 633 / GB 3095 (298.15 K, 1013.25 hPa), where one mole of gas fills 24.465 L.
"""

from __future__ import annotations

from station.catalogue import parameter as catalogue_row

MOLAR_VOLUME = 24.465  # L/mol at 298.15 K and 1013.25 hPa
MOLAR_MASS = {"so2": 64.066, "no2": 46.0055, "co": 28.010, "o3": 47.998}  # g/mol
_MASS_FACTOR = {"ug/m3": 1.0, "mg/m3": 1000.0}  # to ug/m3
_MIXING_FACTOR = {"ppb": 1.0, "ppm": 1000.0}  # to ppb


def convert(parameter: str, value: float, unit: str) -> float:
    """``value`` (canonical unit of ``parameter``) expressed in ``unit``; ``ValueError`` if impossible."""
    canonical = catalogue_row(parameter).unit
    if unit == canonical:
        return value
    if canonical in _MASS_FACTOR and unit in _MASS_FACTOR:
        return value * _MASS_FACTOR[canonical] / _MASS_FACTOR[unit]
    if canonical in _MASS_FACTOR and unit in _MIXING_FACTOR and parameter in MOLAR_MASS:
        ug_m3 = value * _MASS_FACTOR[canonical]
        return ug_m3 * MOLAR_VOLUME / MOLAR_MASS[parameter] / _MIXING_FACTOR[unit]
    raise ValueError(f"cannot show {parameter} ({canonical}) in {unit!r}")


def check_unit(parameter: str, unit: str) -> None:
    """Fail at start-up, not at the first read, when a profile's unit cannot be served."""
    convert(parameter, 1.0, unit)
