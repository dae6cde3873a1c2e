"""The local Athena: DuckDB over the curated lake (a folder or s3://, e.g. moto), same SQL.

Each curated table becomes a view over its Hive-partitioned Parquet (``dt`` as text, ``hour``
as integer, as the Glue tables declare them), so ``WHERE dt = '...'`` prunes files exactly as
partition projection does on Athena. Sessions run in UTC, like Athena. Schema ``analyst`` holds
the analysts' views (no patient or encounter ids, no free text), as on Athena.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import duckdb_extension_httpfs
import pyarrow as pa

from core.schema.analyst import analyst_tables, view_sql
from core.schema.tables import TABLES
from reports.catalog import Report
from reports.dialect import check, to_duckdb

HTTPFS = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"


ANALYST_SCHEMA = "analyst"


class DialectError(ValueError):
    pass


class LocalAthena:
    def __init__(self, lake: str, *, endpoint_url: str = "", region: str = "us-east-1",
                 access_key: str = "testing", secret_key: str = "testing"):
        self.lake = lake.rstrip("/")
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        if self.lake.startswith("s3://"):
            self.con.load_extension(str(HTTPFS))  # bundled by duckdb-extension-httpfs: no download at run time
            if endpoint_url:
                ep = urlparse(endpoint_url)
                self.con.execute(f"SET s3_endpoint = '{ep.netloc}'")
                self.con.execute(f"SET s3_use_ssl = {'true' if ep.scheme == 'https' else 'false'}")
                self.con.execute("SET s3_url_style = 'path'")
            self.con.execute(f"SET s3_region = '{region}'")
            self.con.execute(f"SET s3_access_key_id = '{access_key}'")
            self.con.execute(f"SET s3_secret_access_key = '{secret_key}'")
        for table in TABLES:
            self._view(table)
        # What an analyst may query (core/schema/analyst.py): the Athena analyst database's views, here.
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {ANALYST_SCHEMA}")
        for table in analyst_tables():
            self.con.execute(f"CREATE OR REPLACE VIEW {ANALYST_SCHEMA}.{table} AS {view_sql(table, 'main')}")

    def _files(self, table: str) -> bool:
        if self.lake.startswith("s3://"):
            return bool(self.con.execute(f"SELECT count(*) FROM glob('{self.lake}/{table}/*/*/*.parquet')").fetchone()[0])
        return any(Path(self.lake, table).glob("*/*/*.parquet"))

    def _view(self, table: str) -> None:
        if self._files(table):
            self.con.execute(
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{self.lake}/{table}/*/*/*.parquet', "
                "hive_partitioning = true, hive_types = {'dt': VARCHAR, 'hour': INTEGER}, union_by_name = true)")
        else:  # no data yet: an empty view with the table's columns, so every report still runs
            empty = pa.schema([*TABLES[table], pa.field("dt", pa.string()), pa.field("hour", pa.int32())]).empty_table()
            self.con.register(f"_{table}_empty", empty)
            self.con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM _{table}_empty")

    def days(self) -> list[str]:
        """The days (``dt`` partitions) that hold data in any table, oldest first."""
        files = self.con.execute(f"SELECT file FROM glob('{self.lake}/*/dt=*/*/*.parquet')").fetchall()
        return sorted({m.group(1) for (f,) in files if (m := re.search(r"/dt=(\d{4}-\d{2}-\d{2})/", f))})

    def sql_for(self, report: Report, day: str) -> str:
        problems = check(report.sql)
        if problems:
            raise DialectError(f"{report.name}: " + "; ".join(problems))
        return to_duckdb(report.for_day(day))

    def run(self, report: Report, day: str) -> pa.Table:
        table = self.con.execute(self.sql_for(report, day)).to_arrow_table()
        # DuckDB counts in HUGEINT (decimal(38,0) in Arrow); Athena's counts are bigint.
        return table.cast(pa.schema([pa.field(f.name, pa.int64()) if pa.types.is_decimal(f.type) and f.type.scale == 0
                                     else f for f in table.schema]))

    def analyst_query(self, sql: str) -> pa.Table:
        """An analyst's ad-hoc Athena SQL, its table names resolved in the ``analyst`` schema, as the
        analyst workgroup on AWS resolves them in the analyst database. Locally this is a convenience,
        not a control: whoever has the folder has the files."""
        problems = check(sql)
        if problems:
            raise DialectError("; ".join(problems))
        self.con.execute(f"SET search_path = '{ANALYST_SCHEMA}'")
        try:
            return self.con.execute(to_duckdb(sql)).to_arrow_table()
        finally:
            self.con.execute("RESET search_path")

    def explain(self, report: Report, day: str) -> str:
        """DuckDB's physical plan (with the files each scan will read)."""
        rows = self.con.execute("EXPLAIN " + self.sql_for(report, day)).fetchall()
        return "\n".join(r[1] for r in rows)
