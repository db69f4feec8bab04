"""The parameter catalogue: one row per parameter, the only place codes, units and names are defined.

Adding a parameter is adding one row to ``_ROWS``. HJ 212 codes are those of HJ 212-2017 where
docs/domain.md#hj-212-2017 gives them; ``None``: no code is assigned here (a station maps it in its config).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """What a parameter describes."""

    WATER = "water"
    AIR = "air"
    METEO = "meteo"
    GAS = "gas"  # toxic and harmful gases at chemical parks (化工园区有毒有害气体), docs/chemical_park.md
    RADIATION = "radiation"  # ambient gamma dose rate around nuclear plants (辐射环境), docs/radiation.md
    POSITION = "position"  # where the station is (GNSS), for the electronic fence (docs/fence.md)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One catalogue row.

    ``unit`` is the canonical unit stored in InfluxDB; ``label`` is what operators see ("氨氮 NH3-N").
    """

    code: str
    hj212: str | None
    unit: str
    name_zh: str
    name_en: str
    symbol: str
    kind: Kind

    @property
    def label(self) -> str:
        """Bilingual name for dashboards and messages, e.g. ``氨氮 NH3-N``."""
        return f"{self.name_zh} {self.symbol}"


_W, _A, _M = Kind.WATER, Kind.AIR, Kind.METEO
_G, _R = Kind.GAS, Kind.RADIATION
_P = Kind.POSITION
_ROWS: tuple[Parameter, ...] = (
    # Five conventional water parameters.
    Parameter("temp", "w01010", "degC", "水温", "water temperature", "Temp", _W),
    Parameter("ph", "w01001", "pH", "pH值", "pH", "pH", _W),
    Parameter("do", "w01009", "mg/L", "溶解氧", "dissolved oxygen", "DO", _W),
    Parameter("cond", "w01014", "uS/cm", "电导率", "conductivity", "Cond", _W),
    Parameter("turb", "w01003", "NTU", "浊度", "turbidity", "Turb", _W),
    # Nutrient and organic analysers.
    Parameter("codmn", "w01019", "mg/L", "高锰酸盐指数", "permanganate index", "CODMn", _W),
    Parameter("cod", "w01018", "mg/L", "化学需氧量", "chemical oxygen demand", "COD", _W),
    Parameter("bod5", None, "mg/L", "五日生化需氧量", "5-day biochemical oxygen demand", "BOD5", _W),
    Parameter("nh3n", "w21003", "mg/L", "氨氮", "ammonia nitrogen", "NH3-N", _W),
    Parameter("tp", "w21011", "mg/L", "总磷", "total phosphorus", "TP", _W),
    Parameter("tn", "w21001", "mg/L", "总氮", "total nitrogen", "TN", _W),
    Parameter("chla", None, "ug/L", "叶绿素a", "chlorophyll-a", "Chl-a", _W),
    # Remaining GB 3838-2002 Table 1 items (laboratory or special analysers).
    Parameter("cu", None, "mg/L", "铜", "copper", "Cu", _W),
    Parameter("zn", None, "mg/L", "锌", "zinc", "Zn", _W),
    Parameter("f", None, "mg/L", "氟化物", "fluoride", "F-", _W),
    Parameter("se", None, "mg/L", "硒", "selenium", "Se", _W),
    Parameter("as", None, "mg/L", "砷", "arsenic", "As", _W),
    Parameter("hg", None, "mg/L", "汞", "mercury", "Hg", _W),
    Parameter("cd", None, "mg/L", "镉", "cadmium", "Cd", _W),
    Parameter("cr6", None, "mg/L", "六价铬", "chromium (VI)", "Cr6+", _W),
    Parameter("pb", None, "mg/L", "铅", "lead", "Pb", _W),
    Parameter("cn", None, "mg/L", "氰化物", "cyanide", "CN-", _W),
    Parameter("phenol", None, "mg/L", "挥发酚", "volatile phenol", "Phenol", _W),
    Parameter("oil", None, "mg/L", "石油类", "petroleum", "Oil", _W),
    Parameter("las", None, "mg/L", "阴离子表面活性剂", "anionic surfactant", "LAS", _W),
    Parameter("s2", None, "mg/L", "硫化物", "sulfide", "S2-", _W),
    Parameter("fcoli", None, "count/L", "粪大肠菌群", "fecal coliform", "F.coli", _W),
    # Further parameters of automatic water stations (lakes, reservoirs, special analysers).
    Parameter("algae", None, "cells/L", "藻密度", "algae density", "Algae", _W),
    Parameter("orp", None, "mV", "氧化还原电位", "oxidation-reduction potential", "ORP", _W),
    Parameter("sal", None, "PSU", "盐度", "salinity", "Sal", _W),
    Parameter("toc", None, "mg/L", "总有机碳", "total organic carbon", "TOC", _W),
    Parameter("no3n", None, "mg/L", "硝酸盐氮", "nitrate nitrogen", "NO3-N", _W),
    Parameter("ss", None, "mg/L", "悬浮物", "suspended solids", "SS", _W),
    Parameter("uv254", None, "1/cm", "紫外吸光度", "UV absorbance at 254 nm", "UV254", _W),
    Parameter("level", None, "m", "水位", "water level", "Level", _W),
    Parameter("flow", None, "m3/s", "流量", "flow", "Q", _W),
    # Drinking-water sources: GB 3838-2002 Table 2 (supplementary) and Table 3 (specific) items, mg/L.
    Parameter("so4", None, "mg/L", "硫酸盐", "sulfate", "SO4", _W),
    Parameter("cl", None, "mg/L", "氯化物", "chloride", "Cl-", _W),
    Parameter("fe", None, "mg/L", "铁", "iron", "Fe", _W),
    Parameter("mn", None, "mg/L", "锰", "manganese", "Mn", _W),
    Parameter("chloroform", None, "mg/L", "三氯甲烷", "chloroform", "CHCl3", _W),
    Parameter("ccl4", None, "mg/L", "四氯化碳", "carbon tetrachloride", "CCl4", _W),
    Parameter("styrene", None, "mg/L", "苯乙烯", "styrene", "C8H8", _W),
    Parameter("hcho", None, "mg/L", "甲醛", "formaldehyde", "HCHO", _W),
    Parameter("benzene_w", None, "mg/L", "苯（水）", "benzene (in water)", "C6H6", _W),
    Parameter("ethylbenzene", None, "mg/L", "乙苯", "ethylbenzene", "C8H10-E", _W),
    Parameter("xylene_w", None, "mg/L", "二甲苯（水）", "xylene (in water, sum of isomers)", "C8H10", _W),
    Parameter("chlorobenzene", None, "mg/L", "氯苯", "chlorobenzene", "C6H5Cl", _W),
    Parameter("nitrobenzene", None, "mg/L", "硝基苯", "nitrobenzene", "C6H5NO2", _W),
    # Ambient air (concentrations at the reference state; CO in mg/m3).
    Parameter("so2", "a21026", "ug/m3", "二氧化硫", "sulfur dioxide", "SO2", _A),
    Parameter("no2", "a21004", "ug/m3", "二氧化氮", "nitrogen dioxide", "NO2", _A),
    Parameter("co", "a21005", "mg/m3", "一氧化碳", "carbon monoxide", "CO", _A),
    Parameter("o3", "a05024", "ug/m3", "臭氧", "ozone", "O3", _A),
    Parameter("pm10", "a34002", "ug/m3", "可吸入颗粒物", "particulate matter PM10", "PM10", _A),
    Parameter("pm25", "a34004", "ug/m3", "细颗粒物", "fine particulate matter PM2.5", "PM2.5", _A),
    Parameter("no", None, "ug/m3", "一氧化氮", "nitric oxide", "NO", _A),
    Parameter("nox", None, "ug/m3", "氮氧化物", "nitrogen oxides", "NOx", _A),
    # Meteorology at air stations (and wind at chemical parks).
    Parameter("air_temp", None, "degC", "气温", "air temperature", "T", _M),
    Parameter("rh", None, "%", "相对湿度", "relative humidity", "RH", _M),
    Parameter("pressure", None, "hPa", "气压", "air pressure", "P", _M),
    Parameter("wind_speed", None, "m/s", "风速", "wind speed", "WS", _M),
    Parameter("wind_dir", None, "deg", "风向", "wind direction", "WD", _M),
    Parameter("rain", None, "mm", "降水量", "precipitation", "Rain", _M),
    # Toxic and harmful gases at chemical-park stations (mg/m3; limits and sources: docs/chemical_park.md).
    Parameter("benzene", None, "mg/m3", "苯", "benzene", "C6H6", _G),
    Parameter("toluene", None, "mg/m3", "甲苯", "toluene", "C7H8", _G),
    Parameter("xylene", None, "mg/m3", "二甲苯", "xylene (sum of isomers)", "C8H10", _G),
    Parameter("h2s", None, "mg/m3", "硫化氢", "hydrogen sulfide", "H2S", _G),
    Parameter("nh3", None, "mg/m3", "氨", "ammonia (gas)", "NH3", _G),
    Parameter("cl2", None, "mg/m3", "氯气", "chlorine", "Cl2", _G),
    Parameter("nmhc", None, "mg/m3", "非甲烷总烃", "non-methane hydrocarbons", "NMHC", _G),
    Parameter("tvoc", None, "mg/m3", "总挥发性有机物", "total volatile organic compounds", "TVOC", _G),
    # Ambient gamma radiation around nuclear plants (docs/radiation.md).
    Parameter("gamma", None, "nGy/h", "γ辐射空气吸收剂量率", "gamma air absorbed dose rate", "γ", _R),
    # Station position from a GNSS receiver, and the edge's fence figures (docs/fence.md).
    Parameter("gnss_lat", None, "deg", "纬度", "latitude (WGS 84)", "Lat", _P),
    Parameter("gnss_lon", None, "deg", "经度", "longitude (WGS 84)", "Lon", _P),
    Parameter("gnss_speed", None, "m/s", "对地速度", "speed over ground", "SOG", _P),
    Parameter("fence_dist", None, "m", "偏离登记位置", "distance from registered position", "Dist", _P),
    Parameter("fence_move", None, "m", "窗口内位移", "displacement within the window", "Disp", _P),
)

CATALOGUE: MappingProxyType[str, Parameter] = MappingProxyType({p.code: p for p in _ROWS})
BY_HJ212: MappingProxyType[str, Parameter] = MappingProxyType({p.hj212: p for p in _ROWS if p.hj212})


def parameter(code: str) -> Parameter:
    """Return the catalogue row for ``code``; raise ``KeyError`` naming the code when unknown."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"unknown parameter code {code!r}") from None


def is_known(code: str) -> bool:
    """True when ``code`` is a catalogue parameter."""
    return code in CATALOGUE
