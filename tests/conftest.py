"""Shared fixtures: a real moto server over HTTP (the local AWS), started once per session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.local.stack import MotoServer, delivery_settings, use_local_credentials  # noqa: E402


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> str:
    use_local_credentials()
    server = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server.endpoint
    server.stop()


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so tests sharing the server never share a resource."""
    return uuid.uuid4().hex[:8]


class DeliveryService:
    """``python -m alerts`` in its own process group, so SIGKILL takes the daemon and its processors."""

    def __init__(self, res, tmp: Path, **settings: str):
        self.tmp = tmp
        # Its own KCL application (lease table) per test: one moto serves the whole session.
        settings.setdefault("delivery.application.name", f"delivery-{res.alerts_stream}")
        self.status_file = tmp / "status" / "status.json"
        groups: dict[str, dict[str, str]] = {}
        all_settings = delivery_settings(res, **{"delivery.status.file": str(self.status_file),
                                                 "delivery.failover.ms": "3000", "delivery.idle.ms": "200",
                                                 "delivery.retry.max.ms": "2000", **settings})
        for name, value in all_settings.items():
            group, _, key = name.partition(".")
            groups.setdefault(group, {})[key] = value
        self.config = tmp / "delivery-config.json"
        self.config.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]))
        self.status_file.parent.mkdir(exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.tmp / f"delivery-{self.starts}.log", "wb")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen([sys.executable, "-m", "alerts", "--work-dir", str(self.tmp / "work"),
                                      "--config", str(self.config)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
        log.close()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        return (self.tmp / f"delivery-{self.starts}.log").read_text(errors="replace")[-3000:]


def s3_table(uri: str, table: str, endpoint: str) -> list[dict]:
    """A table of an ``s3://`` lake, read straight from moto with pyarrow's own S3 client (in this
    process, which finalizes it at exit), so the job's writer is not used to check itself."""
    from urllib.parse import urlparse

    import pyarrow.dataset as ds
    from pyarrow import fs as pafs

    ep = urlparse(endpoint)
    s3 = pafs.S3FileSystem(region="us-east-1", endpoint_override=ep.netloc, scheme=ep.scheme)
    parsed = urlparse(uri)
    root = f"{parsed.netloc}{parsed.path}".rstrip("/")
    if s3.get_file_info(f"{root}/{table}").type == pafs.FileType.NotFound:
        return []
    return ds.dataset(f"{root}/{table}", filesystem=s3, format="parquet", partitioning="hive").to_table().to_pylist()


def write_job_config(path: Path, groups: dict[str, dict[str, str]]) -> Path:
    """The job's settings as MSF property groups, the form ``--config`` reads."""
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]))
    return path


def start_job(config: Path, log: Path, *args: str, flink_logs: Path | None = None) -> subprocess.Popen:
    """``python -m flink_app`` (the real job) in its own session, output to ``log``; stop it with
    ``os.killpg``. ``flink_logs`` puts Flink's own log (where the operators write) there."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if flink_logs:
        env["FLINK_LOG_DIR"] = str(flink_logs)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flink_app", "--config", str(config), *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_job(job: subprocess.Popen, timeout_s: float = 60) -> None:
    if job.poll() is None:
        os.killpg(job.pid, signal.SIGTERM)
        try:
            job.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
