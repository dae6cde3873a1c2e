"""Flink operators: thin adapters that hold state and call the plain-Python modules.

Source (heartbeat -> stream reader keyed by stream, shard positions in map state), parse (dead letters to a side
output), per-patient processing (carry-forward, enrichment, detection; alerts to a side
output), alerts out to the alerts stream (delivery is alerts/), and the lake sink (keyed by table, rows buffered in checkpointed
list state, flushed on a timer).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import pickle
import time
import traceback
from contextlib import contextmanager

from pyflink.common import Types
from pyflink.datastream import (
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    RuntimeContext,
    TimeDomain,
)
from pyflink.datastream.state import ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor

from core import aws
from core.aws import permanent_cause
from core.config import Config, canary_path, quarantine_path
from core.detect import PatientState, alert_row
from core.kinesis_reader import (
    FROM_START,
    KinesisShardReader,
    SourceUnavailable,
    StreamPoller,
)
from core.kpl import AggregationError, deaggregate, is_aggregated
from core.patient_path import PatientPath
from core.schema.events import MAX_REASON_CHARS, InvalidRecord, decode, encode
from core.schema.phi import scrub
from core.schema.tables import ALL_TABLES, QUARANTINE
from core.windows import PATIENT_WINDOW_MS, UNIT_DEADLINE_GRACE_MS, UNIT_WINDOW_MS, PatientMinute, UnitLoad, WindowSet
from flink_app.io.alert_stream import AlertStream
from flink_app.io.lake import LakeWriter, RowsNotWritable, gc_paused, split_canary, split_writable, to_tuples
from flink_app.io.pseudonym_key import pseudonymiser

log = logging.getLogger("wardwatch")

PICKLED = Types.PICKLED_BYTE_ARRAY()
DEAD_LETTER_TAG = OutputTag("dead_letter", PICKLED)
ALERT_TAG = OutputTag("alerts", PICKLED)
MINUTE_TAG = OutputTag("patient_minutes", PICKLED)
MAX_DEAD_PER_RECORD = 100  # dead letters from one Kinesis record; past it, one row keeps the whole record


def for_sink(table: str, rows: list[dict]) -> tuple[str, int, bytes]:
    """A batch of rows for the lake sink, as column-ordered tuples pickled once here.

    The sink keeps the bytes in list state as they are and unpickles them only when it writes
    the file: rows cross the keyed exchange and the state as opaque bytes, instead of being
    unpickled and pickled again on the way (a quarter of the job's Python time, bench profile).
    """
    return table, len(rows), pickle.dumps(to_tuples(table, rows), protocol=pickle.HIGHEST_PROTOCOL)


def metrics(runtime_context: RuntimeContext):
    """The job's metric group. MSF exports custom metrics to CloudWatch only from a group named
    ``kinesisanalytics`` (the alarms in infra/monitoring.py read them); locally it is just a scope."""
    return runtime_context.get_metrics_group().add_group("kinesisanalytics")


def now_ms() -> int:
    return int(time.time() * 1000)


def payload_text(payload: bytes | str) -> str:
    """A payload as stored in ``dead_letter``: the text when it is UTF-8, else ``base64:`` and the
    bytes, so every dead letter can be replayed exactly."""
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(payload).decode()


def dead_letter_row(stage: str, reason: str, payload: bytes | str, shard: str = "", seq: str = "",
                    arrival_ms: int | None = None, *, raw: str | None = None) -> dict:
    """A dead letter: the reason and a scrubbed payload for the lake, the unchanged record (``RAW``)
    for the quarantine; ``raw_id`` ties them."""
    reason = reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS - 1] + "…"
    text = payload_text(payload) if raw is None else raw
    processed = now_ms()
    raw_id = hashlib.sha256(f"{stage}|{shard}|{seq}|{processed}|{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
    shown = (f"binary record of {len(base64.b64decode(text[7:]))} bytes (in the quarantine)"
             if text.startswith("base64:") else scrub(text))
    return {"stage": stage, "reason": reason, "payload": shown, "kinesis_shard": shard, "kinesis_seq": seq,
            "arrival_ts": arrival_ms, "processed_ts": processed, "raw_id": raw_id, RAW: text}


RAW = "_raw_payload"  # a dead letter's unchanged record, split off for the quarantine (``quarantine_rows``)


def quarantine_rows(rows: list[dict]) -> list[dict]:
    """The ``dead_letter_raw`` rows of these dead letters."""
    return [{"raw_id": r["raw_id"], "stage": r["stage"], "payload": r[RAW], "kinesis_shard": r["kinesis_shard"],
             "kinesis_seq": r["kinesis_seq"], "arrival_ts": r["arrival_ts"], "processed_ts": r["processed_ts"]}
            for r in rows if r.get(RAW) is not None]


def whole_record_row(reason: str, data: bytes, shard: str, seq: str, arrival_ms: int | None) -> dict:
    """A dead letter that keeps a (binary, possibly large) Kinesis record whole, in base64, in the quarantine."""
    return dead_letter_row("parse", reason, "", shard, seq, arrival_ms, raw="base64:" + base64.b64encode(data).decode())


def sink_dead_letters(table: str, bad: list[tuple[tuple, str]]) -> list[dict]:
    """Derived rows the table cannot hold, by column name, so the scrub can find what identifies
    (a bare tuple names no field). No quarantine copy: the row is not what a source sent, and the
    record it came from is kept whole in the raw zone at the shard and sequence number given."""
    names = ALL_TABLES[table].names
    dead = []
    for row, reason in bad:
        named = dict(zip(names, row, strict=False))
        text = json.dumps({"table": table, "row": named}, default=str, ensure_ascii=False)
        letter = dead_letter_row("sink", reason, text, str(named.get("kinesis_shard") or ""),
                                 str(named.get("kinesis_seq") or ""))
        dead.append({**letter, "raw_id": None, RAW: None})
    return dead


class StreamReader(KeyedProcessFunction):
    """Keyed by stream name: on each heartbeat tick, one GetRecords per readable shard.

    Shard positions live in MapState, so a restore resumes right after the last record the
    checkpoint saw. One key per stream lets the reader order parents before children after a
    reshard (``StreamPoller``); per-reading work is spread by the key_by patient downstream.
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def open(self, runtime_context: RuntimeContext):
        c = self.cfg
        client = aws.client("kinesis", c["aws.region"], c["aws.endpoint.url"], raw_timestamps=True)
        reader = KinesisShardReader(client, c["source.stream.name"], c["source.initial.position"],
                                    c["source.initial.timestamp"], c["source.max.records.per.poll"])
        self.poller = StreamPoller(reader, c["source.shard.discovery.interval.ms"] / 1000)
        self.positions = runtime_context.get_map_state(MapStateDescriptor("positions", Types.STRING(), Types.STRING()))
        # The stream the positions belong to (its creation time): checked before every read.
        self.identity = runtime_context.get_state(ValueStateDescriptor("stream-created", Types.STRING()))
        group = metrics(runtime_context)
        group.gauge("millisBehindLatest", lambda: self.poller.lag_ms)
        # Time since a read last succeeded: "running but reading nothing" shows here (and alarms),
        # where millisBehindLatest would keep its last value.
        self.last_read = time.monotonic()
        self.failing_since: float | None = None
        group.gauge("millisSinceLastRead", lambda: int((time.monotonic() - self.last_read) * 1000))
        self.records_in = group.counter("recordsReadFromKinesis")
        self.give_up_s = c["source.failure.timeout.ms"] / 1000

    def process_element(self, stream, ctx: KeyedProcessFunction.Context):
        try:
            self._same_stream(stream)
            positions = dict(self.positions.items())
            records, changed = self.poller.poll_round(positions)
        except Exception as exc:  # keep the positions; poll again next tick, unless it cannot heal
            self._failed(stream, exc)
            return
        self.last_read, self.failing_since = time.monotonic(), None
        for shard_id, position in changed.items():
            self.positions.put(shard_id, position)
        self.records_in.inc(len(records))
        if records:  # one element per round: per-element overhead, not per-record, dominates (README)
            yield [(r.shard_id, r.sequence_number, r.arrival_ms, r.data) for r in records]


    def _same_stream(self, stream: str) -> None:
        """Positions stored for a stream that has since been deleted and recreated under the same
        name would skip the new stream's records (its shards reuse the ids): read it from the start."""
        created, stored = self.poller.discover(), self.identity.value()
        if stored is None:
            self.identity.update(created)
        elif created != stored:
            shards = [s["ShardId"] for s in self.poller.shards]
            log.warning("stream %s was recreated (created %s, positions were for %s): reading its %d shard(s) "
                        "from the oldest record", stream, created, stored, len(shards))
            self.positions.clear()
            for shard in shards:
                self.positions.put(shard, FROM_START)
            self.identity.update(created)

    def _failed(self, stream: str, exc: Exception) -> None:
        """A transient fault is retried quietly for a while; one that cannot heal, or lasts past
        source.failure.timeout.ms, fails the job with its cause (FATAL in the log, the console of
        make run, and a restart on MSF that the Downtime and ReadingNothing alarms see)."""
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
            log.warning("reading %s failed: %s", stream, exc)
        cause = permanent_cause(exc)
        if cause is None and now - self.failing_since >= self.give_up_s:
            cause = f"every read has failed for {now - self.failing_since:.0f} s; last error: {type(exc).__name__}: {exc}"
        if cause is not None:
            message = f"FATAL: cannot read Kinesis stream {stream}: {cause}"
            log.error(message)
            raise SourceUnavailable(message) from exc


class Parse(ProcessFunction):
    """Decode and validate a batch of records; emit one element per patient, in stream order.

    KPL-aggregated records are unpacked first (``io/kpl.py``); their readings carry the
    sequence number ``<record's>:<index in it>``. Malformed records go to the dead-letter
    side output with the reason.
    """

    def open(self, runtime_context: RuntimeContext):
        self.dead = metrics(runtime_context).counter("recordsDeadLettered")

    def process_element(self, batch, ctx: ProcessFunction.Context):
        processed = now_ms()
        by_patient: dict[str, list] = {}
        dead = []
        for shard, seq, arrival_ms, data in batch:
            if is_aggregated(data):
                try:
                    users = [(f"{seq}:{i}", d) for i, d in enumerate(deaggregate(data))]
                except AggregationError as exc:
                    dead.append(whole_record_row(str(exc), data, shard, seq, arrival_ms))
                    continue
                if not users:
                    dead.append(whole_record_row("KPL aggregated record holds no user records", data, shard, seq,
                                                 arrival_ms))
                    continue
            else:
                users = [(seq, data)]
            refused = 0
            for user_seq, user_data in users:
                try:
                    event = decode(user_data, now_ms=processed)
                except InvalidRecord as exc:
                    reason = exc.reason
                except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop the job
                    log.error("decode failed: %s", type(exc).__name__)  # no payload: it may carry PHI
                    reason = f"internal error: {type(exc).__name__}"
                else:
                    if event.__dict__.get("rejected_fields"):
                        dead.append(dead_letter_row("validate", "fields removed: " + "; ".join(event.rejected_fields),
                                                    user_data, shard, user_seq, arrival_ms))
                    by_patient.setdefault(event.patient_id, []).append((event, (shard, user_seq, arrival_ms, processed)))
                    continue
                refused += 1
                if refused <= MAX_DEAD_PER_RECORD:
                    dead.append(dead_letter_row("parse", reason, user_data, shard, user_seq, arrival_ms))
            if refused > MAX_DEAD_PER_RECORD:
                dead.append(whole_record_row(f"{refused - MAX_DEAD_PER_RECORD} more refused records in this KPL "
                                             f"aggregate (first {MAX_DEAD_PER_RECORD} dead-lettered one by one)",
                                             data, shard, seq, arrival_ms))
        if dead:
            self.dead.inc(len(dead))
            yield DEAD_LETTER_TAG, dead
        yield from by_patient.items()  # (patient id, [(event, meta), ...])


class WindowClock:
    """The watermark and processing time, read once per element.

    Each timer-service call crosses into the JVM; read per reading, they were an eighth of
    the job's Python time (bench profile). Neither changes while one element is processed.
    """

    def __init__(self, ctx):
        self.timers = ctx.timer_service()
        self.watermark = self.timers.current_watermark()
        self.now = self.timers.current_processing_time()

    def window_for(self, windows: WindowSet, ts_ms: int, factory):
        """The open window accumulator for ``ts_ms`` (registering its closing timers), or None if late."""
        acc, new_timers = windows.get(ts_ms, self.watermark, self.now, factory)
        register(self.timers, new_timers)
        return acc


def register(timers, new_timers: list[tuple]) -> None:
    """Register (event time, processing time) pairs."""
    for event_ts, proc_ts in new_timers:
        if event_ts is not None:
            timers.register_event_time_timer(event_ts)
        if proc_ts is not None:
            timers.register_processing_time_timer(proc_ts)


def due_windows(state, ctx, active_ms: int | None) -> list:
    """Accumulators of the windows in ``state`` that the watermark or their deadline has closed;
    ``active_ms``: when the operator last got an element (a deadline waits for a quiet stream)."""
    windows = state.value()
    if windows is None:
        return []
    timers = ctx.timer_service()
    due = windows.due(timers.current_watermark(), timers.current_processing_time(), active_ms)
    register(timers, windows.next_timers())
    state.update(windows)
    return due


def minute_outputs(minutes: list[dict]):
    """A patient's closed 1-minute rows: one batch to the lake, one per unit to the unit windows."""
    if not minutes:
        return
    yield for_sink("vitals_1m", minutes)
    by_unit: dict[str, list[dict]] = {}
    for m in minutes:
        by_unit.setdefault(f"{m['hospital_id']}|{m['unit']}", []).append(m)
    for key, rows in by_unit.items():
        yield MINUTE_TAG, (key, rows)


class PatientProcess(KeyedProcessFunction):
    """Keyed by patient: carry-forward, enrichment and detection; alerts to a side output.

    One keyed hop does all per-patient work, because each Python operator a reading passes
    costs more than the clinical work itself (DESIGN.md, performance budget).
    """

    def __init__(self, cfg: Config):
        self.settings = cfg.as_dict()
        self.idle_close_ms = cfg["windows.idle.close.ms"]
        self.state_ttl_ms = cfg["job.patient.state.ttl.ms"]

    def open(self, runtime_context: RuntimeContext):
        self.path = PatientPath(self.settings)
        self.state = runtime_context.get_state(ValueStateDescriptor("patient", PICKLED))
        self.windows = runtime_context.get_state(ValueStateDescriptor("minutes", PICKLED))
        group = metrics(runtime_context)
        self.readings = group.counter("readingsEnriched")
        self.active_ms: int | None = None  # when this operator last got an element, of any patient
        self.late = group.counter("lateReadings")
        self.dead = group.counter("recordsDeadLettered")
        self.alert_counters: dict[str, object] = {}
        self.group = group

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        _, items = value
        state = self.state.value() or PatientState()
        windows = self.windows.value() or WindowSet(PATIENT_WINDOW_MS, self.idle_close_ms)
        out: dict[str, list] = {"vitals": [], "encounters": []}
        dead, raised = [], []
        # A patient's minute closes on an event-time timer as the watermark passes it (or on its
        # wall-clock deadline when the stream goes quiet), so its row reaches the unit windows
        # before that watermark does. Closed only when the patient's next batch came (as before,
        # to save a timer per patient and minute), a ward patient's minute reached its unit window
        # after the window had closed whenever the stream was read faster than live: a reprocessed
        # day or a lagging shard lost it from unit_load_5m (tests/test_watermark.py).
        clock = WindowClock(ctx)
        late_in = 0
        for event, meta in items:
            shard, seq, arrival_ms, processed = meta
            try:
                table, row, alerts = self.path.handle(state, event, meta)
                if table == "vitals":
                    row["late"] = not self._window(windows, row, alerts, clock)
                    late_in += row["late"]
            except Exception as exc:  # a bug must not kill the job or lose the record: dead-letter it
                log.error("patient processing failed: %s", traceback.format_exc(limit=3))
                reason = f"internal error: {type(exc).__name__}: {exc}"
                dead.append(dead_letter_row("enrich", reason, encode(event), shard, seq, arrival_ms))
                continue
            if table is not None:
                out[table].append(row)
            for alert in alerts:
                alert.source_arrival_ms = arrival_ms
                raised.append(alert)
        if late_in:
            windows.count_late(late_in, clock.watermark, clock.now)
        self.active_ms = clock.now
        closed = [acc.row() for acc in windows.due(clock.watermark, clock.now, clock.now)]
        register(clock.timers, windows.next_timers())
        state.touched_ms = clock.now
        self._detection_timer(state, clock.timers, clock.now)
        self.state.update(state)
        self.windows.update(windows)
        self.readings.inc(len(out["vitals"]))
        yield from minute_outputs(closed)
        for table, rows in out.items():
            if rows:
                yield for_sink(table, rows)
        if dead:
            self.dead.inc(len(dead))
            yield DEAD_LETTER_TAG, dead
        yield from self._alerts(raised)

    def _alerts(self, raised: list):
        for alert in raised:
            if alert.rule not in self.alert_counters:
                self.alert_counters[alert.rule] = self.group.add_group("rule", alert.rule).counter("alertsRaised")
            self.alert_counters[alert.rule].inc()
            yield ALERT_TAG, alert

    def _detection_timer(self, state: PatientState, timers, now: int) -> None:
        """One pending processing-time timer for the detector's next re-alert, escalation or overdue
        check. ``now`` is the processing time already read for this element (each read crosses into the JVM)."""
        due = self.path.detector.next_tick_ms(state)
        if due is None:  # nothing to say: wake when the patient has been silent long enough to forget
            due = (state.touched_ms or now) + self.state_ttl_ms
        if state.timer_ms is None or due < state.timer_ms or state.timer_ms <= now:
            state.timer_ms = max(due, now + 1000)
            timers.register_processing_time_timer(state.timer_ms)

    def _window(self, windows: WindowSet, row: dict, alerts: list, clock: WindowClock) -> bool:
        """Add a reading (and its alerts) to its 1-minute window; False when that window has closed."""
        acc = clock.window_for(windows, row["ts"], PatientMinute)
        if acc is None:
            self.late.inc()
            return False
        acc.add(row)
        for a in alerts:
            if a.paged:
                acc.add_alert(a.severity, a.status)
        return True

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        yield from minute_outputs([acc.row() for acc in due_windows(self.windows, ctx, self.active_ms)])
        if ctx.time_domain() == TimeDomain.EVENT_TIME:
            return  # a minute's timer: the detection timer is on processing time
        state = self.state.value()
        if state is not None and state.timer_ms is not None and timestamp >= state.timer_ms:
            state.timer_ms = None
            if timestamp - (state.touched_ms or timestamp) >= self.state_ttl_ms and state.episode is None:
                self.state.clear()  # silent past job.patient.state.ttl.ms with nothing open: forgotten
                return
            raised = self.path.tick(state, timestamp)
            self._detection_timer(state, ctx.timer_service(), timestamp)
            self.state.update(state)
            yield from self._alerts(raised)


class UnitLoadProcess(KeyedProcessFunction):
    """Keyed by hospital and unit: 5-minute load from the patients' 1-minute rows."""

    def __init__(self, cfg: Config):
        self.idle_close_ms = cfg["windows.idle.close.ms"]
        self.urgent, self.emergency = cfg["detection.news2.urgent"], cfg["detection.news2.emergency"]

    def open(self, runtime_context: RuntimeContext):
        self.windows = runtime_context.get_state(ValueStateDescriptor("unit", PICKLED))
        self.late = metrics(runtime_context).counter("lateMinutes")
        self.active_ms: int | None = None  # when this operator last got an element, of any unit

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        _, minutes = value  # (hospital|unit, [1-minute rows])
        windows = self.windows.value() or WindowSet(UNIT_WINDOW_MS, self.idle_close_ms, UNIT_DEADLINE_GRACE_MS)
        clock = WindowClock(ctx)
        self.active_ms = clock.now
        for minute in minutes:
            acc = clock.window_for(windows, minute["window_start"], UnitLoad)
            if acc is None:
                # The unit window closed on its wall-clock deadline (the watermark stalled) before
                # this minute came: it is in vitals_1m, not in unit_load_5m.
                self.late.inc()
                continue
            acc.add(minute, self.urgent, self.emergency)
        self.windows.update(windows)
        return iter(())

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        due = due_windows(self.windows, ctx, self.active_ms)
        if due:
            yield for_sink("unit_load_5m", [acc.row() for acc in due])


class AlertsOut(ProcessFunction):
    """Writes each alert to the alerts stream (for the delivery service) and to the alerts table."""

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def open(self, runtime_context: RuntimeContext):
        c = self.cfg
        self.stream = None
        if c["alerts.stream.name"]:
            self.stream = AlertStream(aws.client("kinesis", c["aws.region"], c["aws.endpoint.url"], timeout_s=10),
                                      c["alerts.stream.name"], c["alerts.put.timeout.ms"])
        group = metrics(runtime_context)
        self.written = group.counter("alertsWritten")
        self.latency_ms = 0
        group.gauge("alertLatencyMs", lambda: self.latency_ms)  # Kinesis arrival -> on the alerts stream, last alert

    def process_element(self, alert, ctx: ProcessFunction.Context):
        sequence = None
        if self.stream is not None:
            [sequence] = self.stream.put([alert])  # AlertStreamUnavailable fails the task: replayed, not lost
            self.written.inc()
            if alert.source_arrival_ms:
                self.latency_ms = now_ms() - alert.source_arrival_ms
        yield for_sink("alerts", [alert_row(alert, sequence=sequence, streamed_ms=now_ms() if sequence else None)])


@contextmanager
def lake_failure_told(table: str):
    """Re-raises (the rows stay in state; the job restarts from the checkpoint), but first tells a
    cause that will not heal (FATAL: on the console of make run), which restarts alone never fix."""
    try:
        yield
    except Exception as exc:
        cause = permanent_cause(exc)
        if cause is not None:
            log.error("FATAL: cannot write the lake's %s table: %s", table, cause)
        raise


class LakeSink(KeyedProcessFunction):
    """Keyed by table name: buffers pickled row batches in checkpointed state; one Parquet file per partition per flush."""

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def open(self, runtime_context: RuntimeContext):
        c = self.cfg
        keys = pseudonymiser(c)  # the analysts' patient_key and encounter_key; fails loudly without its key
        self.lake = LakeWriter(c["lake.path"], c["aws.region"], c["aws.endpoint.url"], keys)
        self.quarantine = LakeWriter(quarantine_path(c), c["aws.region"], c["aws.endpoint.url"])
        self.canary = LakeWriter(canary_path(c), c["aws.region"], c["aws.endpoint.url"], keys)
        self.buffer = runtime_context.get_list_state(ListStateDescriptor("rows", PICKLED))
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))
        self.timer = runtime_context.get_state(ValueStateDescriptor("timer", Types.LONG()))
        self.flush_no = runtime_context.get_state(ValueStateDescriptor("flush_no", Types.LONG()))
        self.lineage = self.cfg["job.lineage"]
        self.recovered: set[str] = set()
        group = metrics(runtime_context)
        self.rows_written = group.counter("lakeRowsWritten")
        self.files_written = group.counter("lakeFilesWritten")
        self.canary_rows = group.counter("canaryRowsWritten")

    def writer(self, table: str) -> LakeWriter:
        """Refused records unchanged go to the quarantine, everything else to the curated lake."""
        return self.quarantine if table in QUARANTINE else self.lake

    def _recover_once(self, table: str) -> None:
        """First time this operator instance sees a table: undo flushes the restored state never saw."""
        if table in self.recovered:
            return
        with lake_failure_told(table):
            removed = [path for writer in {self.writer(table), self.canary}
                       for path in writer.recover(table, self.lineage, self.flush_no.value() or 0)]
        if removed:
            log.warning("lake %s: removed %d file(s) written after the restored checkpoint", table, len(removed))
        self.recovered.add(table)

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        table, n_rows, blob = value  # a batch of rows of one table (``for_sink``)
        self._recover_once(table)
        self.buffer.add(blob)
        count = (self.count.value() or 0) + n_rows
        self.count.update(count)
        if count >= self.cfg["lake.max.rows.per.file"]:
            self._flush(table)
        elif self.timer.value() is None:
            at = ctx.timer_service().current_processing_time() + self.cfg["lake.flush.interval.ms"]
            ctx.timer_service().register_processing_time_timer(at)
            self.timer.update(at)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        self.timer.clear()
        self._recover_once(ctx.get_current_key())
        self._flush(ctx.get_current_key())
        return iter(())

    def _commit(self, writer: LakeWriter, table: str, rows: list[tuple], flush_no: int) -> list[str]:
        """One flush's files; raises on I/O failure: the job restarts from the checkpoint and recovers it."""
        try:
            return writer.commit(table, rows, self.lineage, flush_no)
        except RowsNotWritable:
            rows, bad = split_writable(table, rows, writer.keys)
            log.warning("lake %s: %d row(s) not writable, dead-lettered", table, len(bad))
            # A derived row the table cannot hold: its scrubbed text only (the record it came from was read whole).
            return writer.commit(table, rows, self.lineage, flush_no, dead=sink_dead_letters(table, bad))

    def _flush(self, table: str) -> None:
        with gc_paused():
            rows = [row for blob in (self.buffer.get() or []) for row in pickle.loads(blob)]
        if not rows:
            return
        flush_no = (self.flush_no.value() or 0) + 1
        rows, canary = split_canary(table, rows)
        with lake_failure_told(table):
            paths = self._commit(self.writer(table), table, rows, flush_no) if rows else []
            if canary:  # the same flush number: a restore undoes both files
                paths += self._commit(self.canary, table, canary, flush_no)
                self.canary_rows.inc(len(canary))
        self.flush_no.update(flush_no)
        self.buffer.clear()
        self.count.clear()
        self.rows_written.inc(len(rows))
        self.files_written.inc(len(paths))
