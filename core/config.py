"""One configuration model for AWS and the laptop.

It has the shape of Managed Service for Apache Flink runtime properties: a list of property
groups ``{"PropertyGroupId": ..., "PropertyMap": {...}}``. On MSF it is read from
``/etc/flink/application_properties.json``; on a laptop from a local JSON file of the same
shape, then overridden by ``--set group.key=value`` flags. Every setting is declared once
below (group, key, type, default, doc); the README table is generated from this list and a
test keeps the two in step. Unknown keys and bad values fail fast, naming the setting.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MSF_PROPERTIES_PATH = Path("/etc/flink/application_properties.json")


class ConfigError(ValueError):
    """A configuration problem; the message names the setting."""


@dataclass(frozen=True)
class Setting:
    group: str
    key: str
    type: type
    default: Any
    doc: str
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.group}.{self.key}"


SETTINGS: tuple[Setting, ...] = (
    Setting("aws", "region", str, "us-east-1", "AWS region for every client (Kinesis, SNS, S3)."),
    Setting("aws", "endpoint.url", str, "",
            "Endpoint override for every AWS client, e.g. the local moto server; empty on AWS."),
    Setting("source", "stream.name", str, "wardwatch-vitals", "Kinesis stream the readings arrive on."),
    Setting("source", "initial.position", str, "TRIM_HORIZON",
            "Where to start a shard with no checkpointed position.",
            ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")),
    Setting("source", "initial.timestamp", str, "",
            "ISO-8601 start time when initial.position is AT_TIMESTAMP."),
    Setting("source", "poll.interval.ms", int, 250,
            "Pause between GetRecords calls per shard (the service allows 5 calls/s/shard)."),
    Setting("source", "max.records.per.poll", int, 10000,
            "GetRecords Limit (1-10000). Larger polls make larger batches: fewer, fuller elements per operator."),
    Setting("source", "shard.discovery.interval.ms", int, 10000, "How often ListShards is called."),
    Setting("source", "failure.timeout.ms", int, 600000,
            "How long reads may keep failing with faults that could heal (network, throttling, 5xx) before the "
            "job fails loudly with the cause; access denied, a missing stream, KMS or credential errors fail at once."),
    Setting("alerts", "stream.name", str, "",
            "Kinesis stream the job writes every alert to (partition key: patient), for the delivery "
            "service in alerts/; empty: alerts go to the alerts table only and nobody is paged."),
    Setting("alerts", "put.timeout.ms", int, 60000,
            "How long the job retries a failing write to the alerts stream before it fails the task; the "
            "restart replays from the last checkpoint, so the alert is written again, not lost."),
    Setting("delivery", "application.name", str, "wardwatch-alerts",
            "KCL application name of the delivery service: its DynamoDB lease table and its workers' group."),
    Setting("delivery", "topic.arn", str, "",
            "SNS topic a page goes to when no delivery.routes entry matches it."),
    Setting("delivery", "routes", str, "[]",
            'JSON list of {"hospital", "unit", "tier", "topic"} (hospital, unit and tier optional): a page '
            "goes to the topic of the most specific entry that matches its hospital, unit and escalation tier."),
    Setting("delivery", "hospital.names", str, "{}",
            'JSON object hospital id -> name, so a page says "Northgate General (H01)" and not only "H01".'),
    Setting("delivery", "ledger.table", str, "",
            "DynamoDB table (key page_id) recording each page claimed and delivered, so a restart or a "
            "repeated record never pages twice; empty: duplicates are dropped only within one process."),
    Setting("delivery", "deadletter.queue.url", str, "",
            "SQS queue for alert records that can never be rendered, with the reason; empty: logged only."),
    Setting("delivery", "sns.endpoint.url", str, "",
            "Endpoint override for SNS only (a VPC endpoint, or a test's fault-injecting proxy); empty: aws.endpoint.url."),
    Setting("delivery", "retry.max.ms", int, 30000,
            "Longest pause between attempts to deliver a held page (attempts go on until it is delivered)."),
    Setting("delivery", "publish.timeout.ms", int, 5000,
            "SNS connect and read timeout per attempt; a slow SNS holds the page, it never stalls the others."),
    Setting("delivery", "idle.ms", int, 500,
            "KCL pause between GetRecords calls on the alerts stream when it is quiet."),
    Setting("delivery", "failover.ms", int, 10000,
            "KCL lease failover time: how soon another worker takes over a dead worker's shards."),
    Setting("delivery", "status.file", str, "",
            "Local JSON file the service rewrites with its counts (delivered, held, duplicates dropped); empty: none."),
    Setting("board", "port", int, 8765,
            "Port of the local ward board (`python -m board`, started by make run); it listens on 127.0.0.1 only, 0 = any free port."),
    Setting("board", "trend.hours", float, 6, "Hours of vitals, NEWS2 and alerts a patient's view on the ward board shows."),
    Setting("lake", "path", str, "data/lake",
            "Root of the curated lake: a local folder or an s3://bucket/prefix URI."),
    Setting("lake", "quarantine.path", str, "",
            "Where refused records are kept unchanged for replay (dead_letter_raw), apart from the curated lake: "
            "on AWS a bucket of its own with its own key, short retention, and no Glue table; empty: a "
            "'quarantine' folder beside lake.path. The lake's dead_letter keeps only the reason and a scrubbed payload."),
    Setting("lake", "canary.path", str, "",
            "Where the end-to-end canary's rows go (hospital CANARY, core/canary.py), apart from the curated lake "
            "so no report, dashboard or ward board counts a synthetic patient; same tables, no Glue table; "
            "empty: a 'canary' folder beside lake.path."),
    Setting("lake", "pseudonym.secret", str, "",
            "Secrets Manager secret (ARN or name) holding the key of the analysts' pseudonymous patient_key and "
            "encounter_key (HMAC-SHA256, core/pseudonym.py); the CDK makes it and sets this on AWS. Empty: "
            "lake.pseudonym.key.file."),
    Setting("lake", "pseudonym.key.file", str, "data/pseudonym.key",
            "Local file holding that key (hex), made on first run, owner-only; keep it: a new key gives every "
            "patient a new key, so old and new rows no longer join."),
    Setting("lake", "flush.interval.ms", int, 5000, "Longest a row waits in the sink before a Parquet file is written."),
    Setting("lake", "max.rows.per.file", int, 50000, "A file is written early once this many rows are buffered."),
    Setting("job", "parallelism", int, 1, "Default operator parallelism."),
    Setting("job", "checkpoint.interval.ms", int, 10000, "Checkpoint interval (exactly-once mode)."),
    Setting("job", "checkpoint.dir", str, "data/checkpoints",
            "Where checkpoints are kept locally (MSF manages its own)."),
    Setting("job", "restore.from", str, "",
            "Checkpoint or savepoint path to restore from; 'latest' picks the newest under checkpoint.dir."),
    Setting("job", "lineage", str, "",
            "Identity of this job's lake output across restores. Empty: a new one on a fresh start, the "
            "restored checkpoint's on a restore (locally). On MSF set it per application and change it "
            "when starting without a snapshot."),
    Setting("job", "taskmanagers", int, 1,
            "Local only. 1: the embedded mini-cluster, one JVM. N > 1: a local session cluster of N TaskManager "
            "JVMs, each with its own Python interpreter, and parallelism at least N (thread mode runs one "
            "JVM's Python on one core; README, Performance). Ignored on MSF."),
    Setting("job", "cluster.dir", str, "data/cluster",
            "Logs and working files of the local session cluster (job.taskmanagers > 1)."),
    Setting("job", "patient.state.ttl.ms", int, 3 * 86_400_000,
            "A patient with no event for this long and no open episode is forgotten (keyed state freed), so state "
            "does not grow with patient churn when a discharge never arrives; a discharge frees it at once."),
    Setting("job", "python.executable", str, "",
            "Python that PEMJA starts for thread-mode operators; empty means this interpreter."),
    Setting("detection", "persistence.ms", int, 20000,
            "How long a standard-limit breach must last before it alerts (0 alerts at once). "
            "Manual observations alert at once."),
    Setting("detection", "persistence.window.ms", int, 120000,
            "Window in which time in breach is counted against persistence.ms (at least twice the persistence): "
            "a value flapping across a limit still alerts."),
    Setting("detection", "critical.confirm.ms", int, 20000,
            "A critical value alerts once its critical readings (critical.confirm.readings of the last 2N-1) span "
            "at least this long (artefacts last seconds); a nurse's observation at once. Added latency: this on "
            "fast monitors, two reading intervals on slower devices (README, detection benchmark)."),
    Setting("detection", "critical.confirm.readings", int, 3,
            "Critical readings among the last 2N-1 a critical value needs: on a 60-s ward monitor two independent "
            "few-second artefacts in a row happen about twice a day per 100 patients (bench.detection), three "
            "about once a year."),
    Setting("detection", "clear.confirm.ms", int, 1800000,
            "Monitor data past a condition's recovery margin must stay there this long before it clears (a "
            "nurse's set clears at once): a value hovering about the margin, or a paroxysmal arrhythmia recurring "
            "every 20 minutes, keeps one episode, not a page per crossing."),
    Setting("detection", "clear.hold.ms", int, 1800000,
            "A condition back inside its limit (not yet past the recovery margin) clears after this long."),
    Setting("detection", "deescalate.ms", int, 600000,
            "A critical condition with no critical reading for this long is urgent again."),
    Setting("detection", "ack.minutes", float, 120,
            "How long an acknowledgement stops re-alerts and escalation (a worse condition pages at once)."),
    Setting("detection", "ack.max.minutes", float, 720,
            "Each further acknowledgement of the same episode, not worse since, doubles the pause, up to this "
            "(one 12-hour nursing shift: each shift hears of a persisting episode at least once)."),
    Setting("detection", "silence.minutes", float, 30, "Default length of a bed silence (probe off, off the ward)."),
    Setting("detection", "delayed.after.ms", int, 600000,
            "Readings older than this (a catch-up after an outage) page only once live again or once their "
            "episode has lasted this long, marked DELAYED; an episode over within the backlog is recorded only."),
    Setting("detection", "replay", bool, False,
            "true only for a job reading a day put back on a stream by archive.reprocess: each reading is judged "
            "at its own time, as the ward saw it live (no catch-up holding or DELAYED marks for the day's age, page "
            "times told against the reading), so the rebuilt alerts table is the day's, not the replay's. Needs "
            "alerts.stream.name empty: a replayed day pages no one."),
    Setting("detection", "overdue.grace", float, 1.5,
            "Observations are overdue once the oldest NEWS2 parameter is older than the band's monitoring "
            "interval (RCP Chart 4) times this."),
    Setting("detection", "escalation", str, "charge_nurse@10,rapid_response@20",
            "Tiers an unacknowledged urgent or critical episode escalates to: TIER@minutes after it opened."),
    Setting("detection", "escalation.units", str, "",
            "Per-unit escalation tiers, e.g. 'ICU:charge_nurse@5,rapid_response@10;Ward-A:charge_nurse@15'."),
    Setting("detection", "spo2.low", float, 92, "Standard limit: SpO2 below this (%) is the low-oxygen alert."),
    Setting("detection", "spo2.scale2.low", float, 88,
            "Standard SpO2 limit for NEWS2 scale 2 patients (prescribed target 88-92%)."),
    Setting("detection", "spo2.critical.low", float, 85, "Critical limit: SpO2 below this (%) alerts with no delay."),
    Setting("detection", "heart_rate.high", float, 131, "Standard limit: heart rate at or above this (NEWS2 scores 3)."),
    Setting("detection", "heart_rate.critical.high", float, 150, "Critical limit: heart rate at or above this alerts at once."),
    Setting("detection", "heart_rate.low", float, 40, "Standard limit: heart rate at or below this (NEWS2 scores 3)."),
    Setting("detection", "heart_rate.critical.low", float, 35, "Critical limit: heart rate at or below this alerts at once."),
    Setting("detection", "news2.persistence.ms", int, 300000,
            "How long a NEWS2-based condition from monitor data must last before it alerts; a nurse's "
            "observation set alerts at once."),
    Setting("detection", "news2.urgent", float, 5, "NEWS2 total that opens an urgent alert (RCP: urgent response threshold)."),
    Setting("detection", "news2.emergency", float, 7,
            "NEWS2 total that makes it critical, at once (RCP: emergency response threshold)."),
    Setting("detection", "news2.rapid_rise", float, 3,
            "A NEWS2 rise of this much within 30 minutes alerts, once the total is within one point of news2.urgent "
            "(a rise that ends in the low band is a trend for the board, not a page)."),
    Setting("detection", "news2.red_score", float, 1,
            "1: a single NEWS2 parameter scoring 3 alerts (RCP Chart 4, low-medium: urgent ward-based review); "
            "0: it does not (the ICU default: continuous nursing already watches each parameter)."),
    Setting("detection", "triage.max_wait.min", float, 15,
            "A triage 1-2 patient waiting longer than this (minutes) alerts."),
    Setting("detection", "unit.defaults", str, "ICU:news2.urgent=7,news2.emergency=9,news2.red_score=0",
            "Shipped per-unit defaults: ICU patients often sit at NEWS2 >= 5 or a single parameter at 3 under "
            "continuous nursing, so NEWS2 pages there from 7 (urgent) and 9 (critical) and a lone score of 3 does "
            "not page. Our choice, not an RCP rule; override per unit."),
    Setting("detection", "unit.overrides", str, "",
            "Per-unit limits on top of unit.defaults, e.g. 'ICU:spo2.low=90,persistence.ms=10000;Ward-A:news2.urgent=6'."),
    Setting("events", "out_of_orderness.ms", int, 5000,
            "Watermark delay: how far out of order readings may arrive and still count as on time."),
    Setting("events", "idleness.ms", int, 30000, "A stream split silent this long stops holding the watermark back."),
    Setting("windows", "idle.close.ms", int, 30000,
            "A window still open this long (wall clock) after its end, or after it opened for old data, "
            "closes anyway, so a quiet stream does not hold the last minute back."),
    Setting("enrich", "carry_forward.max_age.ms", int, 5 * 3600 * 1000,
            "Oldest earlier value of an absent NEWS2 parameter that may complete a reading's score "
            "(ward observations come every 4 h)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}

# The allowed range of every numeric setting (inclusive; README table). A value outside cannot be
# meant: spo2.low=150 would page every patient, persistence.ms=-5 would page every artefact.
RANGES: dict[str, tuple[float, float]] = {
    "source.poll.interval.ms": (200, 60_000), "source.max.records.per.poll": (1, 10_000),
    "source.shard.discovery.interval.ms": (1_000, 3_600_000), "source.failure.timeout.ms": (10_000, 86_400_000), "alerts.put.timeout.ms": (1_000, 600_000),
    "delivery.retry.max.ms": (100, 3_600_000), "delivery.publish.timeout.ms": (100, 60_000),
    "delivery.idle.ms": (50, 60_000), "delivery.failover.ms": (1_000, 600_000),
    "board.port": (0, 65_535), "board.trend.hours": (0.25, 48),
    "lake.flush.interval.ms": (100, 3_600_000), "lake.max.rows.per.file": (1, 10_000_000),
    "job.parallelism": (1, 1_024), "job.checkpoint.interval.ms": (1_000, 3_600_000), "job.taskmanagers": (1, 64),
    "job.patient.state.ttl.ms": (60_000, 30 * 86_400_000),
    "detection.persistence.ms": (0, 3_600_000), "detection.persistence.window.ms": (1_000, 86_400_000),
    "detection.critical.confirm.ms": (1, 600_000), "detection.critical.confirm.readings": (1, 20),
    "detection.clear.confirm.ms": (1, 86_400_000), "detection.clear.hold.ms": (1, 86_400_000),
    "detection.deescalate.ms": (1, 86_400_000), "detection.ack.minutes": (1, 1_440), "detection.ack.max.minutes": (1, 2_880),
    "detection.silence.minutes": (1, 1_440), "detection.delayed.after.ms": (1, 86_400_000),
    "detection.overdue.grace": (1, 10),
    "detection.spo2.low": (70, 100), "detection.spo2.scale2.low": (70, 100), "detection.spo2.critical.low": (50, 99),
    "detection.heart_rate.high": (60, 250), "detection.heart_rate.critical.high": (60, 300),
    "detection.heart_rate.low": (20, 100), "detection.heart_rate.critical.low": (10, 100),
    "detection.news2.persistence.ms": (0, 3_600_000), "detection.news2.urgent": (1, 20),
    "detection.news2.emergency": (1, 20), "detection.news2.rapid_rise": (1, 20), "detection.news2.red_score": (0, 1),
    "detection.triage.max_wait.min": (1, 240),
    "events.out_of_orderness.ms": (0, 3_600_000), "events.idleness.ms": (1_000, 3_600_000),
    "windows.idle.close.ms": (1_000, 3_600_000), "enrich.carry_forward.max_age.ms": (0, 86_400_000),
}
# Pairs that must be ordered: (lower, higher, factor): lower * factor must stay below higher, so a
# critical limit is always beyond its standard one (for every unit's overrides too).
ORDERED: tuple[tuple[str, str, float], ...] = (
    ("detection.spo2.critical.low", "detection.spo2.low", 1), ("detection.spo2.critical.low", "detection.spo2.scale2.low", 1),
    ("detection.heart_rate.critical.low", "detection.heart_rate.low", 1),
    ("detection.heart_rate.low", "detection.heart_rate.high", 1),
    ("detection.heart_rate.high", "detection.heart_rate.critical.high", 1),
    ("detection.news2.urgent", "detection.news2.emergency", 1),
    ("detection.persistence.ms", "detection.persistence.window.ms", 2),  # the window holds at least two persistences
)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _range_text(name: str) -> str:
    lo, hi = RANGES[name]
    return f"{_num(lo)} to {_num(hi)}"


def check_meaning(values: dict[str, Any], where: str = "") -> None:
    """Ranges and orderings of ``values`` (a full configuration, or one unit's effective limits)."""
    for name, (lo, hi) in RANGES.items():
        if name in values and not lo <= float(values[name]) <= hi:
            raise ConfigError(f"setting {name}{where} must be {_range_text(name)}, got {values[name]}")
    for lower, higher, factor in ORDERED:
        if lower not in values or higher not in values:
            continue
        lo_v, hi_v = float(values[lower]), float(values[higher])
        if not (lo_v * factor <= hi_v if factor > 1 else lo_v < hi_v):
            need = f"at most 1/{factor:g} of" if factor > 1 else "below"
            raise ConfigError(f"setting {lower}{where} ({values[lower]}) must be {need} {higher} ({values[higher]})")




def _coerce(setting: Setting, raw: Any) -> Any:
    try:
        if setting.type is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "1", "yes"):
                return True
            if str(raw).lower() in ("false", "0", "no"):
                return False
            raise ValueError(raw)
        value = setting.type(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {setting.name}: {raw!r} is not a valid {setting.type.__name__}") from None
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"setting {setting.name}: {value!r} is not one of {', '.join(setting.choices)}")
    return value


class Config:
    """Typed, validated settings. Read with ``cfg["group.key"]``."""

    def __init__(self, overrides: dict[str, Any] | None = None):
        values = {s.name: s.default for s in SETTINGS}
        for name, raw in (overrides or {}).items():
            if name not in _BY_NAME:
                raise ConfigError(f"unknown setting {name!r}; known settings are listed in the README")
            values[name] = _coerce(_BY_NAME[name], raw)
        self._values = values
        self._check()

    def _check(self) -> None:
        v = self._values
        if v["source.initial.position"] == "AT_TIMESTAMP" and not v["source.initial.timestamp"]:
            raise ConfigError("setting source.initial.timestamp is required when source.initial.position is AT_TIMESTAMP")
        if not 1 <= v["source.max.records.per.poll"] <= 10000:
            raise ConfigError("setting source.max.records.per.poll must be between 1 and 10000")
        if v["source.poll.interval.ms"] < 200:
            raise ConfigError("setting source.poll.interval.ms must be >= 200 (5 GetRecords calls/s/shard)")
        if v["detection.replay"] and v["alerts.stream.name"]:
            raise ConfigError(f"setting detection.replay=true needs alerts.stream.name empty (got "
                              f"{v['alerts.stream.name']!r}): a replayed day must page no one")
        check_meaning(v)
        from core.detect import Detector, parse_unit_overrides

        per_unit: dict[str, dict[str, float]] = {}
        for source in ("detection.unit.defaults", "detection.unit.overrides"):  # overrides on top of the defaults
            try:
                units = parse_unit_overrides(str(v[source]), source)
            except ValueError as exc:
                raise ConfigError(f"setting {exc}") from None
            for unit, overrides in units.items():
                per_unit.setdefault(unit, {}).update(overrides)
                check_meaning({**v, **per_unit[unit]}, f" for unit {unit} ({source})")
        try:
            Detector({k: val for k, val in v.items() if k.startswith("detection.")})
        except ValueError as exc:
            raise ConfigError(f"setting {exc}") from None
        for name in ("delivery.routes", "delivery.hospital.names"):
            try:
                parsed = json.loads(v[name])
            except ValueError as exc:
                raise ConfigError(f"setting {name}: not valid JSON ({exc})") from None
            if not isinstance(parsed, list if name == "delivery.routes" else dict):
                raise ConfigError(f"setting {name} must be a JSON {'list' if name == 'delivery.routes' else 'object'}")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def to_property_groups(self) -> list[dict[str, Any]]:
        """The MSF shape, every value a string as MSF stores it."""
        groups: dict[str, dict[str, str]] = {}
        for s in SETTINGS:
            groups.setdefault(s.group, {})[s.key] = str(self._values[s.name])
        return [{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def beside_lake(cfg: Config, name: str) -> str:
    """``lake.<name>.path``, or a ``<name>`` folder beside the lake (data/lake -> data/<name>)."""
    if cfg[f"lake.{name}.path"]:
        return cfg[f"lake.{name}.path"]
    lake = cfg["lake.path"].rstrip("/")
    head, sep, _ = lake.rpartition("/")
    return f"{head}/{name}" if sep and not head.endswith(":/") else f"{lake}/{name}" if "://" in lake else name


def quarantine_path(cfg: Config) -> str:
    """Where refused records are kept unchanged (``lake.quarantine.path``)."""
    return beside_lake(cfg, "quarantine")


def canary_path(cfg: Config) -> str:
    """Where the canary's rows go (``lake.canary.path``)."""
    return beside_lake(cfg, "canary")


# MSF's own group (which file to run, pyFiles): in the same properties file, not job settings.
MSF_RUN_OPTIONS_GROUP = "kinesis.analytics.flink.run.options"


def overrides_from_property_groups(groups: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in groups:
        gid = group.get("PropertyGroupId")
        if not isinstance(gid, str) or not isinstance(group.get("PropertyMap"), dict):
            raise ConfigError("each property group needs a PropertyGroupId string and a PropertyMap object")
        if gid == MSF_RUN_OPTIONS_GROUP:
            continue
        for key, value in group["PropertyMap"].items():
            out[f"{gid}.{key}"] = value
    return out


def load_property_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"configuration file {path} must hold a list of property groups")
    return overrides_from_property_groups(data)


def parse_set_flags(flags: list[str]) -> dict[str, str]:
    out = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep:
            raise ConfigError(f"--set {flag!r}: expected group.key=value")
        out[name.strip()] = value
    return out


def load(argv: list[str] | None = None) -> Config:
    """MSF properties when present, else ``--config FILE`` (or $WARDWATCH_CONFIG), then ``--set`` flags."""
    parser = argparse.ArgumentParser(prog="python -m flink_app", description="WardWatch streaming job")
    parser.add_argument("--config", help="property-group JSON file (MSF shape)",
                        default=os.environ.get("WARDWATCH_CONFIG"))
    parser.add_argument("--set", action="append", default=[], metavar="GROUP.KEY=VALUE",
                        help="override one setting; repeatable")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if MSF_PROPERTIES_PATH.exists():
        overrides.update(load_property_file(MSF_PROPERTIES_PATH))
    elif args.config:
        overrides.update(load_property_file(Path(args.config)))
    overrides.update(parse_set_flags(args.set))
    return Config(overrides)


def settings_markdown() -> str:
    """The README's configuration table, generated from SETTINGS."""
    lines = ["| Setting | Default | Allowed | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default != "" else "(empty)"
        doc = s.doc + (f" One of {', '.join(s.choices)}." if s.choices else "")
        allowed = _range_text(s.name) if s.name in RANGES else ""
        lines.append(f"| `{s.name}` | {default} | {allowed} | {doc} |")
    return "\n".join(lines) + "\n"
