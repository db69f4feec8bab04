"""Grafana dashboards generated from Python (committed as JSON under deploy/grafana/dashboards/)."""
