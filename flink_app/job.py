"""Builds and runs the WardWatch job graph.

    heartbeat (datagen) -> key_by stream -> StreamReader (GetRecords per shard, parents before children,
                                                        positions in map state)
      -> Parse --(side)--> dead_letter
      -> key_by patient -> PatientProcess (carry-forward, enrich, detect) -> vitals, encounters
                             '--(side)--> AlertsOut -> alerts stream (delivery: alerts/) + alerts table
    all tables -> key_by table -> LakeSink (Parquet, dt=/hour=)
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

from pyflink.common import Configuration, Duration, Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from core.config import MSF_PROPERTIES_PATH, Config, ConfigError, canary_path, quarantine_path
from flink_app.lineage import resolve
from flink_app.local_cluster import SUBMITTED_ENV, LocalCluster
from flink_app.operators import (
    ALERT_TAG,
    DEAD_LETTER_TAG,
    MINUTE_TAG,
    PICKLED,
    AlertsOut,
    LakeSink,
    Parse,
    PatientProcess,
    StreamReader,
    UnitLoadProcess,
    for_sink,
    quarantine_rows,
)

log = logging.getLogger("wardwatch")
LOOPBACK = {"jobmanager.bind-host": "127.0.0.1", "jobmanager.rpc.address": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1", "taskmanager.host": "127.0.0.1",
            "rest.bind-address": "127.0.0.1", "rest.address": "127.0.0.1"}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class EventTime(TimestampAssigner):
    """Event time is the reading's (or encounter event's) own timestamp."""

    def extract_timestamp(self, value, record_timestamp: int) -> int:
        return min(event.ts_ms for event, _ in value[1])  # (patient id, [(event, meta), ...])


def flink_configuration(cfg: Config, managed: bool = False) -> Configuration:
    """Flink settings. ``managed`` (on MSF): checkpointing, restore and parallelism are the service's."""
    conf = Configuration()
    python = cfg["job.python.executable"] or sys.executable
    checkpoint_dir = Path(cfg["job.checkpoint.dir"]).resolve() / cfg["job.lineage"]
    settings = {
        # Thread mode runs Python operators inside the JVM via PEMJA (DESIGN.md: ~8x the
        # throughput of process mode for keyed state + timers).
        "python.execution-mode": "thread",
        "python.executable": python,
        "python.client.executable": python,
        "parallelism.default": str(cfg["job.parallelism"]),
        "execution.checkpointing.interval": f"{cfg['job.checkpoint.interval.ms']} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": checkpoint_dir.as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "3",
        # Back within 10 s of a transient fault healing, not Flink's 1 min cap (reached after a few
        # faults, and kept for an hour): a fault that will not heal fails the job instead
        # (core/aws.permanent_cause), so a short cap never spins on one.
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.max-backoff": "10 s",
        "restart-strategy.exponential-delay.reset-backoff-threshold": "5 min",
        "pipeline.name": "wardwatch",
        # Locally nothing listens beyond loopback: Flink binds its RPC, blob and data ports to
        # every interface unless told (MSF sets its own network).
        **LOOPBACK,
    }
    if managed:
        settings = {k: settings[k] for k in ("python.execution-mode", "pipeline.name")}
    restore = "" if managed else cfg["job.restore.from"]  # made definite by lineage.resolve
    if restore:
        settings["execution.state-recovery.path"] = restore
        log.info("restoring from %s (lineage %s)", restore, cfg["job.lineage"])
    else:
        log.info("starting fresh (lineage %s)", cfg["job.lineage"])
    for key, value in settings.items():
        conf.set_string(key, value)
    return conf


def build(env: StreamExecutionEnvironment, cfg: Config) -> None:
    t_env = StreamTableEnvironment.create(env)
    ticks_per_second = max(1, round(1000 / cfg["source.poll.interval.ms"]))
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE heartbeat (tick INT) WITH (
          'connector' = 'datagen', 'rows-per-second' = '{ticks_per_second}',
          'fields.tick.kind' = 'random', 'fields.tick.min' = '0', 'fields.tick.max' = '0')
    """)
    ticks = t_env.to_data_stream(t_env.from_path("heartbeat"))
    # Explicit uids: a restored checkpoint finds each operator's state by them.
    stream = cfg["source.stream.name"]
    raw = (ticks.map(lambda _: stream, output_type=Types.STRING()).name("tick").uid("tick")
           .key_by(lambda s: s, key_type=Types.STRING())
           .process(StreamReader(cfg), output_type=PICKLED).name("kinesis-reader").uid("kinesis-reader"))
    parsed = raw.process(Parse(), output_type=PICKLED).name("parse").uid("parse")
    # with_idleness before with_timestamp_assigner: PyFlink 2.2's with_idleness returns a new
    # strategy without the Python timestamp assigner, and then no watermark ever advances
    # (tests/test_watermark.py fails with the other order).
    timed = parsed.assign_timestamps_and_watermarks(
        WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(cfg["events.out_of_orderness.ms"]))
        .with_idleness(Duration.of_millis(cfg["events.idleness.ms"]))
        .with_timestamp_assigner(EventTime())).name("event-time").uid("event-time")
    patients = (timed.key_by(lambda t: t[0], key_type=Types.STRING())
                .process(PatientProcess(cfg), output_type=PICKLED).name("patient-enrich-detect")
                .uid("patient-enrich-detect"))
    alerts = (patients.get_side_output(ALERT_TAG).process(AlertsOut(cfg), output_type=PICKLED)
              .name("alerts-out").uid("alerts-out"))
    dead = parsed.get_side_output(DEAD_LETTER_TAG).union(patients.get_side_output(DEAD_LETTER_TAG))
    # Each dead letter twice: scrubbed into the lake's dead_letter, unchanged into the quarantine.
    dead_rows = dead.flat_map(lambda rows: (for_sink("dead_letter", rows), for_sink("dead_letter_raw", quarantine_rows(rows))),
                              output_type=PICKLED).name("dead-letter").uid("dead-letter")
    units = (patients.get_side_output(MINUTE_TAG)
             .key_by(lambda m: m[0], key_type=Types.STRING())
             .process(UnitLoadProcess(cfg), output_type=PICKLED).name("unit-load").uid("unit-load"))
    (patients.union(alerts, dead_rows, units)
     .key_by(lambda t: t[0], key_type=Types.STRING())
     .process(LakeSink(cfg), output_type=PICKLED).name("lake-sink").uid("lake-sink"))


def run(cfg: Config) -> None:
    managed = MSF_PROPERTIES_PATH.exists()
    if managed and not cfg["job.lineage"]:
        raise ConfigError("setting job.lineage must be set on MSF (the CDK app sets it per application)")
    if not managed:
        # A checkpoint is restored only if nobody else can write it (lineage.untrusted): what the job
        # writes is never group- or world-writable, whatever the user's umask (002 is common).
        os.umask(os.umask(0) | 0o022)
    cfg = resolve(cfg)
    # PEMJA's embedded interpreter imports our packages from PYTHONPATH.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    # PEMJA locates its interpreter through the `python` on PATH: put this interpreter's bin
    # first, or thread-mode tasks fail with "No module named 'pemja'" and restart forever.
    python_bin = str(Path(cfg["job.python.executable"] or sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([python_bin, os.environ.get("PATH", "")])
    if not managed:
        # PyFlink starts a Beam "loopback" gRPC worker pool on [::] (every interface) for local runs;
        # thread mode never uses it. Its own switch: 'process' skips it (pyflink
        # stream_execution_environment._open).
        os.environ.setdefault("_python_worker_execution_mode", "process")
    if not managed and cfg["job.taskmanagers"] > 1 and not os.environ.get(SUBMITTED_ENV):
        run_on_local_cluster(cfg)
        return
    env = StreamExecutionEnvironment.get_execution_environment(flink_configuration(cfg, managed))
    build(env, cfg)
    env.execute("wardwatch")


def run_on_local_cluster(cfg: Config) -> None:
    """Start a local session cluster of ``job.taskmanagers`` JVMs, run the job on it, stop it.

    The submitted job reads the settings resolved here (lineage, restore path, absolute local
    paths), so the client that builds the graph and this process agree on them.
    """
    parallelism = max(cfg["job.parallelism"], cfg["job.taskmanagers"])
    work = Path(cfg["job.cluster.dir"]).resolve() / cfg["job.lineage"]
    work.mkdir(parents=True, exist_ok=True)
    paths = {"lake.path": cfg["lake.path"], "lake.quarantine.path": quarantine_path(cfg),
             "lake.canary.path": canary_path(cfg)}
    resolved = Config({**cfg.as_dict(), "job.parallelism": parallelism,
                       "job.checkpoint.dir": str(Path(cfg["job.checkpoint.dir"]).resolve()),
                       **{k: v if "://" in v else str(Path(v).resolve()) for k, v in paths.items()}})
    settings = work / "job-settings.json"
    settings.write_text(json.dumps(resolved.to_property_groups(), indent=1))
    # A SIGTERM must unwind through the context manager, which stops the cluster's JVMs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with LocalCluster(cfg["job.taskmanagers"], parallelism, work) as cluster:
        code = cluster.submit(PROJECT_ROOT / "flink_app" / "__main__.py", ["--config", str(settings)])
    if code:
        raise SystemExit(f"the job on the local cluster failed (flink run exited with {code}); "
                         f"see the logs in {cluster.log_dir}")
