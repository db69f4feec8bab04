"""Records -> InfluxDB line protocol (DESIGN.md schema), through influxdb-client's ``Point``.

The point key is the reading's own timestamp, so a redelivered message rewrites the same point.
Values are always written as floats, so a field never changes type.
"""

from __future__ import annotations

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from station.reading import StationMessage


def readings_lines(msg: StationMessage) -> list[str]:
    """One ``readings`` line per reading: tags station, parameter; fields value (float, if any), flag."""
    lines = []
    for r in msg.readings:
        point = Point("readings").tag("station", r.station).tag("parameter", r.parameter)
        if r.value is not None:
            point = point.field("value", float(r.value))
        point = point.field("flag", r.flag.value).time(r.ts, WritePrecision.NS)
        lines.append(point.to_line_protocol())
    return lines
