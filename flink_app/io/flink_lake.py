"""The lake through Flink's own filesystem sink (issue 13): the curated tables as Flink SQL sink
tables writing Parquet, partitioned ``dt=/hour=``, files committed by checkpoints.

This is the route that replaces the hand-written ``LakeWriter`` and its journal: Flink's
filesystem connector writes in-progress files that readers never see and makes them visible
only when the checkpoint covering them completes (exactly once without our own bookkeeping),
rolls on size and time, and runs in parallel subtasks whose file names differ. The Parquet
format comes from the connectors jar (``connectors/pom.xml``, ``make jar``).

The column names and types are the contract in ``core.schema.tables`` (Glue, Athena,
DuckDB); this module only translates them. Timestamps are written as INT64 milliseconds, as
the pyarrow writer does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from pyflink.table import DataTypes

from core.schema.tables import PARTITION_TIME, TABLES
from flink_app.io.lake import partition_parts

JAR = Path(__file__).resolve().parents[2] / "connectors" / "target" / "wardwatch-connectors.jar"
# Athena reads files of ~128 MB best; a partition hour of the make-run default holds far less, so
# files also roll on time, and every checkpoint closes the part files it covers.
ROLL_SIZE = "128MB"
ROLL_INTERVAL = "15 min"


def sql_type(t: pa.DataType) -> str:
    """The Flink SQL type that writes the same Parquet logical type as ``t``."""
    if pa.types.is_string(t):
        return "STRING"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_float64(t):
        return "DOUBLE"
    ints = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}
    if pa.types.is_signed_integer(t):
        return ints[t.bit_width]
    if pa.types.is_timestamp(t) and t.unit == "ms":
        return "TIMESTAMP_LTZ(3)"
    if pa.types.is_list(t):
        return f"ARRAY<{sql_type(t.value_type)}>"
    raise TypeError(f"no Flink SQL type for the lake column type {t}")


def data_type(t: pa.DataType):
    """The PyFlink DataType of a lake column (the same mapping as ``sql_type``)."""
    if pa.types.is_list(t):
        return DataTypes.ARRAY(data_type(t.value_type))
    if pa.types.is_timestamp(t):
        return DataTypes.TIMESTAMP_LTZ(3)
    return {"STRING": DataTypes.STRING(), "BOOLEAN": DataTypes.BOOLEAN(), "DOUBLE": DataTypes.DOUBLE(),
            "TINYINT": DataTypes.TINYINT(), "SMALLINT": DataTypes.SMALLINT(), "INT": DataTypes.INT(),
            "BIGINT": DataTypes.BIGINT()}[sql_type(t)]


def row_data_type(table: str):
    """The row type ``flink_row`` produces: the table's columns, then dt and hour."""
    return DataTypes.ROW([DataTypes.FIELD(f.name, data_type(f.type)) for f in TABLES[table]]
                         + [DataTypes.FIELD("dt", DataTypes.STRING()), DataTypes.FIELD("hour", DataTypes.STRING())])


def _quoted(name: str) -> str:
    return f"`{name}`"


def sink_ddl(table: str, lake_uri: str, sql_name: str | None = None) -> str:
    """``CREATE TABLE`` of one curated table as a Flink filesystem sink in Parquet."""
    schema = TABLES[table]
    columns = ",\n  ".join(f"{_quoted(f.name)} {sql_type(f.type)}" for f in schema)
    path = lake_uri.rstrip("/") + "/" + table
    options = {
        "connector": "filesystem", "path": path, "format": "parquet",
        "parquet.write.int64.timestamp": "true", "parquet.timestamp.time.unit": "millis",
        "parquet.utc-timezone": "true", "parquet.compression": "SNAPPY",
        "sink.rolling-policy.file-size": ROLL_SIZE, "sink.rolling-policy.rollover-interval": ROLL_INTERVAL,
        "sink.partition-commit.trigger": "process-time", "sink.partition-commit.delay": "0 s",
        "sink.partition-commit.policy.kind": "success-file",
    }
    with_clause = ",\n  ".join(f"'{k}' = '{v}'" for k, v in options.items())
    return (f"CREATE TABLE {_quoted(sql_name or table)} (\n  {columns},\n  `dt` STRING,\n  `hour` STRING\n)"
            f" PARTITIONED BY (`dt`, `hour`) WITH (\n  {with_clause}\n)")


def flink_row(table: str, row: dict) -> tuple:
    """A row in the sink table's column order, timestamps as UTC datetimes (TIMESTAMP_LTZ), then dt and hour."""
    out = []
    for f in TABLES[table]:
        v = row.get(f.name)
        if v is not None and pa.types.is_timestamp(f.type):
            v = datetime.fromtimestamp(v / 1000, tz=UTC)
        out.append(v)
    return (*out, *partition_parts(row[PARTITION_TIME[table]]))  # dt, hour as the pyarrow writer names them
