"""The daily report (日报): one self-contained HTML file per Beijing-time day, from InfluxDB (InfluxQL)."""
