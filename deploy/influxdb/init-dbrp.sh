#!/bin/sh
# Runs once, after the InfluxDB 2 image's setup (DOCKER_INFLUXDB_INIT_MODE=setup) created the org and
# bucket: map the InfluxQL database "stationpipe" (retention policy "autogen") onto the bucket, so
# Grafana and `stationpipe report` can query it with InfluxQL through the v1 compatibility API.
set -eu
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${STATIONPIPE_INFLUX_DB:-stationpipe}" \
  --rp autogen \
  --default
