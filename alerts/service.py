"""``python -m alerts``: the delivery service, a KCL MultiLangDaemon running ``alerts/consumer.py``.

The Amazon Kinesis Client Library (Java, from ``amazon-kclpy``'s jars) holds one lease per
alerts-stream shard in DynamoDB, starts one record-processor process per shard it holds, moves
leases when a worker dies, follows resharding (parents before children) and stores each shard's
checkpoint. This module turns the one configuration model into the daemon's properties file and
runs it in the foreground; SIGTERM stops it and its processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from alerts.routing import Router
from core.config import Config, ConfigError, load
from core.java import check_java, java_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DAEMON = "software.amazon.kinesis.multilang.MultiLangDaemon"
# The AWS SDK's Kinesis client speaks CBOR by default; emulators (and moto) want JSON.
JVM_OPTIONS = ("-Daws.cborEnabled=false",)


def kcl_classpath() -> str:
    import amazon_kclpy

    jars = sorted((Path(amazon_kclpy.__file__).parent / "jars").glob("*.jar"))
    if not jars:
        raise ConfigError("amazon-kclpy is installed without its jars (they are fetched from Maven Central when "
                          "it is built): reinstall it with `make venv` (pip install --no-binary amazon-kclpy)")
    return os.pathsep.join(str(j) for j in jars)


def properties(cfg: Config, config_file: Path) -> str:
    """The MultiLangDaemon properties for this configuration."""
    if not cfg["alerts.stream.name"]:
        raise ConfigError("setting alerts.stream.name is required: the stream the delivery service reads")
    Router.from_config(cfg)  # fail fast here, not in every shard's process
    command = shlex.join([sys.executable, "-m", "alerts.consumer", "--config", str(config_file)])
    if any(c.isspace() for c in str(config_file)) or any(c.isspace() for c in sys.executable):
        raise ConfigError("the MultiLangDaemon splits its executableName on spaces: run from a path without spaces")
    props = {
        "executableName": command,
        "streamName": cfg["alerts.stream.name"],
        "applicationName": cfg["delivery.application.name"],
        "AwsCredentialsProvider": "DefaultCredentialsProvider",
        "regionName": cfg["aws.region"],
        "initialPositionInStream": "TRIM_HORIZON",  # a new application delivers what the job already wrote
        "retrievalMode": "POLLING",
        "idleTimeBetweenReadsInMillis": cfg["delivery.idle.ms"],
        "callProcessRecordsEvenForEmptyRecordList": "true",  # held pages are retried on every (empty) batch
        "failoverTimeMillis": cfg["delivery.failover.ms"],
        # The shard sync also idles this long after the first sync at start-up (60 s by default),
        # and the lease assignment runs every 2 x failover by default: a new worker would page
        # nothing for over a minute. The alerts stream has few shards; both calls are cheap.
        "shardSyncIntervalMillis": 5000,
        "leaseAssignmentIntervalMillis": 2000,
        "maxRecords": 1000,
        # Our own metrics are JSON status lines turned into CloudWatch metrics by log metric filters,
        # so the service needs no cloudwatch:PutMetricData (which only takes Resource "*").
        "metricsLevel": "NONE",
        "processingLanguage": f"python/{sys.version_info.major}.{sys.version_info.minor}",
    }
    if cfg["aws.endpoint.url"]:
        props["kinesisEndpoint"] = props["dynamoDBEndpoint"] = cfg["aws.endpoint.url"]
    return "".join(f"{k} = {v}\n" for k, v in props.items())


def command(cfg: Config, work: Path) -> list[str]:
    """Write the resolved settings and the daemon's properties under ``work``; the java command line."""
    problem = check_java()
    if problem:
        raise ConfigError(problem)
    work.mkdir(parents=True, exist_ok=True)
    config_file = work / "delivery-settings.json"
    config_file.write_text(json.dumps(cfg.to_property_groups(), indent=1))
    props = work / "kcl.properties"
    props.write_text(properties(cfg, config_file))
    return [java_path() or "java", *JVM_OPTIONS, "-cp", kcl_classpath(), DAEMON, "--properties-file", str(props),
            "--log-configuration", str(HERE / "logback.xml")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m alerts", description=__doc__)
    p.add_argument("--work-dir", type=Path, default=Path(os.environ.get("WARDWATCH_DELIVERY_DIR", "data/delivery")),
                   help="where the resolved settings and the KCL properties are written")
    args, rest = p.parse_known_args(argv)
    try:
        cfg = load(rest)
        cmd = command(cfg, args.work_dir.resolve())
    except ConfigError as exc:
        print(f"alerts: {exc}", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    # Same process group as this one: whoever stops the service (make run, a supervisor) stops the
    # daemon and its record processors with it.
    daemon = subprocess.Popen(cmd, env=env, cwd=ROOT)

    def stop(*_):
        # The daemon's shutdown hook asks each record processor to finish (shutdown_requested).
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return daemon.wait()


if __name__ == "__main__":
    sys.exit(main())
