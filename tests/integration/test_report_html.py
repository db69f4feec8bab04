"""``stationpipe report``: a day of representative data (docs/design.md#influxdb, line protocol into
a database of the real InfluxDB of the test session) becomes one self-contained HTML page, which headless
Chromium (Debian's ``chromium``) renders: the DOM holds the tables and charts, and the screenshot shows the
class and AQI level colours."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from stationpipe.ops.report.cli import report_app
from stationpipe.ops.report.data import BEIJING
from stationpipe.testbed.services import Services
from tests.integration.browser import FLAGS, binary

pytestmark = pytest.mark.integration
DAY = date(2025, 6, 1)
DB = "report_day"


def _ns(hour: int, minute: int = 0) -> int:
    at = datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=BEIJING).astimezone(UTC)
    return int(at.timestamp()) * 10**9


def _lines() -> Iterator[str]:
    before = _ns(0) - 86400 * 10**9
    for sid, city, river, name, target in (
        ("w1", "杭州", "钱塘江", "钱塘江闸口", 2),
        ("w2", "湖州", "苕溪", "苕溪新塘", 3),
        ("w3", "台州", "椒江", "椒江三江口", 3),
    ):
        yield (
            f'stations,station={sid},kind=water,city={city},river={river} name="{name}",section="断面",'
            f'target_class={target}i,water_body="river",lat=30,lon=120 {before}'
        )
    for sid, city, name in (("a1", "杭州", "西溪"), ("a2", "宁波", "钱湖")):
        yield f'stations,station={sid},kind=air,city={city} name="{name}",section="",lat=30,lon=121 {before}'
    for h in range(24):
        t = _ns(h, 30)
        yield f'water_class,station=w1 class=2i,worst="codmn" {t}'
        yield f'water_class,station=w2 class={3 if h < 20 else 4}i,worst="nh3n" {t}'
        yield f'water_class,station=w3 class=6i,worst="tp" {t}'
        yield f'readings,station=w1,parameter=codmn flag="N",value=3 {t}'
        yield f'readings,station=w2,parameter=nh3n flag="N",value=1.3 {t}'
        yield f'readings,station=w3,parameter=tp flag="N",value=0.6 {t}'
        # audited daily AQI (HJ 633-2026): a1 80 良 (PM2.5 50), a2 40 优 (PM10 40)
        for sid, pm25 in (("a1", 50), ("a2", 20)):
            for code, value in (
                ("so2", 10),
                ("no2", 20),
                ("pm10", 40),
                ("co", 0.5),
                ("o3", 60),
                ("pm25", pm25),
            ):
                yield f'readings,station={sid},parameter={code} flag="N",value={value} {t}'
        aqi1, aqi2 = 40 + 5 * h, 30 + h
        level1 = 1 if aqi1 <= 50 else 2 if aqi1 <= 100 else 3
        yield f'aqi,station=a1 aqi={aqi1}i,level={level1}i,primary="o3" {t}'
        yield f'aqi,station=a2 aqi={aqi2}i,level=1i,primary="" {t}'
    yield (
        f'warnings,station=w3,rule=tp_target,level=4 state="firing",parameter="tp",value=0.6,limit=0.2,'
        f'message="总磷劣Ⅴ类 TP worse than class V",started="2025-06-01T01:00:00Z" {_ns(9)}'
    )
    yield (
        f'warnings,station=a1,rule=aqi,level=1 state="firing",message="AQI 轻度污染 lightly polluted",'
        f'started="2025-06-01T08:00:00Z" {_ns(16)}'
    )


@pytest.fixture(scope="module")
def report_html(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Path:
    url = services.influx.url
    httpx.post(f"{url}/query", params={"q": f'CREATE DATABASE "{DB}"'}, timeout=10).raise_for_status()
    resp = httpx.post(f"{url}/write", params={"db": DB}, content="\n".join(_lines()).encode(), timeout=10)
    assert resp.status_code == 204, resp.text
    out = tmp_path_factory.mktemp("report") / "report.html"
    args = ["--day", DAY.isoformat(), "--out", str(out), "--influx-url", url, "--database", DB]
    result = CliRunner().invoke(report_app, args)
    assert result.exit_code == 0, result.output
    return out


def test_page_is_self_contained(report_html: Path) -> None:
    page = report_html.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<link" not in page
    assert 'src="http' not in page
    assert "url(" not in page
    assert page.count("<svg") == 3  # the class grid and one AQI chart per air station


def test_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    args = ["--day", "2025-06-01", "--out", str(tmp_path / "r.html"), "--influx-url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(report_app, args)
    assert result.exit_code == 1
    assert "cannot reach InfluxDB" in result.output
    assert not (tmp_path / "r.html").exists()


def _chromium(report: Path, tmp: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    argv = [
        binary("chromium", "chromium"),
        *FLAGS,
        f"--user-data-dir={tmp / 'profile'}",
        "--hide-scrollbars",
        "--window-size=1300,2400",
        *mode,
        report.as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=True)


def test_dom_in_chromium(report_html: Path, tmp_path: Path) -> None:
    dom = _chromium(report_html, tmp_path, "--dump-dom").stdout
    assert "环境自动监测日报 Daily report · 2025-06-01" in dom
    for text in (
        "钱塘江闸口",
        "苕溪新塘",
        "椒江三江口",
        "西溪",
        "钱湖",
        "劣Ⅴ类",
        "未达标 missed",
        "达标 met",
    ):
        assert text in dom, text
    assert "总磷 TP" in dom
    assert "2.00" in dom
    assert "氨氮 NH3-N" in dom
    assert "0.30" in dom
    assert "审核后数据 audited data" in dom
    assert "二级 良 good" in dom  # a1: the audited daily AQI 80 (PM2.5 50 µg/m³)
    assert "一级 优 excellent" in dom  # a2: 40
    assert "98" in dom  # a1's raw/live mean of the engine's hourly AQI, 97.5
    assert "三级 轻度污染 lightly polluted" in dom  # … its raw/live hours after 13:00 were above 100
    assert dom.count('data-class="6"') == 24
    assert "TP worse than class V" in dom


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, out, prev = zlib.decompress(idat), width * channels, bytearray(), bytearray(width * channels)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2}.get(ftype)
            if pred is None:  # Paeth
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + pred) & 0xFF
        out += b"".join(bytes(line[x * channels : x * channels + 3]) for x in range(width))
        prev = line
    return width, height, bytes(out)


def test_screenshot_shows_the_colours(report_html: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(report_html, tmp_path, f"--screenshot={shot}")
    width, height, rgb = _png_pixels(shot)
    assert (width, height) == (1300, 2400)
    colours = {rgb[i : i + 3] for i in range(0, len(rgb), 3)}
    expected = {
        "劣Ⅴ red": "FF0000",
        "AQI 优 green": "00E400",
        "AQI 良 yellow": "FFFF00",
        "AQI 轻度 orange": "FF7E00",
        "class Ⅱ blue": "0070C0",
    }
    for what, hex_colour in expected.items():
        assert bytes.fromhex(hex_colour) in colours, f"{what} #{hex_colour} not on the screenshot"
    assert len(colours) > 50  # text, tables and charts, not a blank page
    shutil.copy(shot, report_html.with_suffix(".png"))  # beside the report, for a person to look at
