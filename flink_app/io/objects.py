"""Where the lake's files live: a local folder, or S3 through boto3.

Not pyarrow's S3 filesystem: it embeds the AWS SDK for C++, which must be shut down
(``pyarrow.fs.finalize_s3``) before the process exits. In thread mode the job's Python runs
inside the TaskManager's JVM, whose exit never finalizes the embedded interpreter, so every
JVM that had written to S3 crashed with SIGSEGV at exit (``hs_err_pid*.log`` in the working
folder). Finalizing in an operator's ``close`` is no cure: S3 cannot be initialised again in
that process, so the next restart of the task in the same JVM could never write. boto3 is
pure Python, and the job already signs every other AWS call with it (``core/aws.py``).

Paths are ``<root>/<key>``; for S3 the root starts with the bucket, as in pyarrow, so the
journal's entries read the same as before. Every write is whole or absent: an S3 PUT is
atomic, and a local file is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
from typing import Protocol
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from core import aws

S3_ATTEMPTS = 10  # ride out a short S3 outage or throttling in place (issue 16, fault suite)


class ObjectStore(Protocol):
    root: str

    def put(self, path: str, data: bytes) -> None: ...
    def put_parquet(self, path: str, table: pa.Table) -> None: ...
    def get(self, path: str) -> bytes: ...
    def list(self, folder: str) -> list[str]: ...
    def delete(self, path: str) -> bool: ...


class LocalStore:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    @staticmethod
    def _tmp(path: str) -> str:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f".{name}.tmp")

    def put(self, path: str, data: bytes) -> None:
        tmp = self._tmp(path)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def put_parquet(self, path: str, table: pa.Table) -> None:
        tmp = self._tmp(path)
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)

    def get(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def list(self, folder: str) -> list[str]:
        """Files directly in ``folder`` (none if it does not exist), temporary ones left out."""
        try:
            return sorted(e.path for e in os.scandir(folder) if e.is_file() and not e.name.startswith("."))
        except FileNotFoundError:
            return []

    def delete(self, path: str) -> bool:
        try:
            os.remove(path)
            return True
        except FileNotFoundError:
            return False


class S3Store:
    def __init__(self, root: str, region: str, endpoint_url: str = ""):
        self.root = root  # "bucket/prefix"
        self.client = aws.client("s3", region, endpoint_url, attempts=S3_ATTEMPTS)

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        bucket, _, key = path.partition("/")
        return bucket, key

    def put(self, path: str, data: bytes) -> None:
        bucket, key = self._split(path)
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def put_parquet(self, path: str, table: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        self.put(path, sink.getvalue().to_pybytes())

    def get(self, path: str) -> bytes:
        bucket, key = self._split(path)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(path) from exc

    def list(self, folder: str) -> list[str]:
        bucket, prefix = self._split(folder.rstrip("/") + "/")
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        return sorted(f"{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", []))

    def delete(self, path: str) -> bool:
        """True: S3 does not say whether the object was there (a DELETE of nothing succeeds)."""
        bucket, key = self._split(path)
        self.client.delete_object(Bucket=bucket, Key=key)
        return True


def store(uri: str, region: str = "us-east-1", endpoint_url: str = "") -> ObjectStore:
    """The store of a lake URI: ``s3://bucket/prefix``, ``file:///path`` or a path."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        return S3Store(f"{parsed.netloc}{parsed.path}".rstrip("/"), region, endpoint_url)
    return LocalStore(parsed.path if parsed.scheme == "file" else uri)
