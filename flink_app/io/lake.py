"""Writing curated rows as Parquet to a local folder or S3, Hive-partitioned by UTC date and hour.

pyarrow.fs handles both ``s3://`` (with an endpoint override for moto) and local paths. Each
call writes whole files with names that carry the table, partition, writer and a sequence,
so nothing is appended in place and a half-written file is never visible under its final
name on S3 (a PUT is atomic); locally files are written to a temporary name and renamed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from flink_app.schema.tables import PARTITION_TIME, TABLES


def filesystem(uri: str, region: str = "us-east-1", endpoint_url: str = "") -> tuple[pafs.FileSystem, str]:
    """(filesystem, root path inside it) for a lake URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        kwargs = {"region": region}
        if endpoint_url:
            ep = urlparse(endpoint_url)
            kwargs.update(endpoint_override=ep.netloc, scheme=ep.scheme or "http")
        return pafs.S3FileSystem(**kwargs), f"{parsed.netloc}{parsed.path}".rstrip("/")
    path = parsed.path if parsed.scheme == "file" else uri
    return pafs.LocalFileSystem(), os.path.abspath(path)


def partition_of(ts_ms: int) -> str:
    t = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return f"dt={t:%Y-%m-%d}/hour={t:%H}"


class LakeWriter:
    def __init__(self, uri: str, region: str = "us-east-1", endpoint_url: str = ""):
        self.fs, self.root = filesystem(uri, region, endpoint_url)
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)

    def write(self, table: str, rows: list[dict], file_stem: str) -> list[str]:
        """Write rows to one file per partition; returns the paths written."""
        schema = TABLES[table]
        by_partition: dict[str, list[dict]] = defaultdict(list)
        time_col = PARTITION_TIME[table]
        for row in rows:
            by_partition[partition_of(row[time_col])].append(row)
        written = []
        for partition, part_rows in sorted(by_partition.items()):
            batch = pa.Table.from_pylist(part_rows, schema=schema)
            directory = f"{self.root}/{table}/{partition}"
            path = f"{directory}/{file_stem}.parquet"
            if self.is_local:  # S3 has no directories; creating one would add marker objects
                self.fs.create_dir(directory, recursive=True)
                tmp = f"{directory}/.{file_stem}.parquet.tmp"
                pq.write_table(batch, tmp, filesystem=self.fs, compression="zstd")
                self.fs.move(tmp, path)
            else:
                pq.write_table(batch, path, filesystem=self.fs, compression="zstd")
            written.append(path)
        return written
