"""Glue (Hive) column types and partition projection for the curated tables, from their Parquet schemas.

One source of truth: ``flink_app/schema/tables.py``. The Glue tables the CDK app creates are
derived here, so Athena always reads the columns the job writes (a test compares them). No
CDK import, so it tests in milliseconds.
"""

from __future__ import annotations

import pyarrow as pa

from flink_app.schema.tables import TABLES

# Partition keys live in the path (dt=YYYY-MM-DD/hour=HH), not in the files. `dt` stays a
# string so `dt = '2026-11-21'` reads the same in Athena and DuckDB; `hour` is an integer.
PARTITION_KEYS = [{"name": "dt", "type": "string"}, {"name": "hour", "type": "int"}]
PROJECTION_START = "2024-01-01"  # the earliest dt Athena enumerates; older data is never written


def glue_type(t: pa.DataType) -> str:
    """The Hive type Athena uses to read a Parquet column of Arrow type ``t``."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t):
        return "tinyint"
    if pa.types.is_int16(t):
        return "smallint"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_list(t):
        return f"array<{glue_type(t.value_type)}>"
    raise TypeError(f"no Glue type for Arrow type {t}")


def glue_columns(table: str) -> list[dict[str, str]]:
    return [{"name": f.name, "type": glue_type(f.type)} for f in TABLES[table]]


def projection_parameters(location: str) -> dict[str, str]:
    """Table parameters for partition projection: Athena computes partitions, no crawler or MSCK."""
    return {
        "classification": "parquet",
        "parquet.compression": "ZSTD",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{PROJECTION_START},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "projection.hour.digits": "2",
        "storage.location.template": f"{location.rstrip('/')}/dt=${{dt}}/hour=${{hour}}/",
    }
