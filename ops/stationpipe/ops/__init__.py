"""Operators' tools: Grafana dashboards as code and their provisioning, deployment files, the daily report.

Nothing here runs in the data path; it reads the InfluxDB schema (docs/design.md#influxdb, InfluxQL) and the
station registry, and writes files or talks to Grafana's HTTP API.
"""
