"""Glue (Hive) column types and partition projection for the curated tables, from their Parquet schemas.

One source of truth: ``core/schema/tables.py``. The Glue tables the CDK app creates are
derived here, so Athena always reads the columns the job writes (a test compares them). No
CDK import, so it tests in milliseconds.
"""

from __future__ import annotations

import pyarrow as pa

from core.schema.tables import TABLES

# Partition keys live in the path (dt=YYYY-MM-DD/hour=HH), not in the files. `dt` stays a
# string so `dt = '2026-11-21'` reads the same in Athena and DuckDB; `hour` is an integer.
PARTITION_KEYS = [{"name": "dt", "type": "string"}, {"name": "hour", "type": "int"}]
PROJECTION_START = "2024-01-01"  # the earliest dt Athena enumerates; older data is never written


# Arrow type test -> Hive type, checked in order.
_SCALARS = (
    (pa.types.is_string, "string"), (pa.types.is_large_string, "string"), (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "tinyint"), (pa.types.is_int16, "smallint"), (pa.types.is_int32, "int"),
    (pa.types.is_int64, "bigint"), (pa.types.is_float32, "float"), (pa.types.is_float64, "double"),
    (pa.types.is_timestamp, "timestamp"), (pa.types.is_date32, "date"),
)


def _named(t: pa.DataType, scalars, array: str) -> str:
    if pa.types.is_list(t):
        return array.format(_named(t.value_type, scalars, array))
    for test, name in scalars:
        if test(t):
            return name
    raise TypeError(f"no type for Arrow type {t}")


def glue_type(t: pa.DataType) -> str:
    """The Hive type Athena uses to read a Parquet column of Arrow type ``t``."""
    return _named(t, _SCALARS, "array<{}>")


# Arrow type test -> the Presto/Trino type an Athena view declares for it.
_VIEW_SCALARS = (
    (pa.types.is_string, "varchar"), (pa.types.is_large_string, "varchar"), (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "tinyint"), (pa.types.is_int16, "smallint"), (pa.types.is_int32, "integer"),
    (pa.types.is_int64, "bigint"), (pa.types.is_float32, "real"), (pa.types.is_float64, "double"),
    (pa.types.is_timestamp, "timestamp(3)"), (pa.types.is_date32, "date"),
)


def view_type(t: pa.DataType) -> str:
    """The type an Athena (Trino) view's column of Arrow type ``t`` has."""
    return _named(t, _VIEW_SCALARS, "array({})")


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
