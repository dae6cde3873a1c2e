"""Per-patient 1-minute and per-unit 5-minute aggregates, in plain Python.

The keyed Flink operators keep these accumulators in state and close them on an event-time timer
once the watermark has passed them, with a processing-time deadline when the stream goes quiet.
A patient's minute closes on the watermark too (not when the patient's next reading comes), so it
leaves before that watermark reaches the unit windows: they need no lateness, and what they hold
does not depend on how fast the stream is read (a reprocessed day rebuilds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW_VITALS = ("heart_rate", "respiratory_rate", "spo2", "systolic_bp", "diastolic_bp", "temperature_c")
PATIENT_WINDOW_MS = 60_000
UNIT_WINDOW_MS = 5 * 60_000
BAND_ORDER = {None: -1, "low": 0, "low-medium": 1, "medium": 2, "high": 3}
# When the stream goes quiet, a patient's last minute and its unit window reach their wall-clock
# deadlines together; the unit's comes this much later, so the minute (sent over the network from
# the patient operator) is in before it closes.
UNIT_DEADLINE_GRACE_MS = 10_000


def window_start(ts_ms: int, size_ms: int) -> int:
    return ts_ms - ts_ms % size_ms


@dataclass
class PatientMinute:
    """A patient's readings within one minute."""

    start: int
    ids: dict = field(default_factory=dict)  # patient/encounter/hospital/unit/bed of the latest reading
    readings: int = 0
    late: int = 0
    sums: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    mins: dict = field(default_factory=dict)
    maxs: dict = field(default_factory=dict)
    news2_max: int | None = None
    band_worst: str | None = None
    flags: set = field(default_factory=set)
    alerts: int = 0
    critical_alerts: int = 0

    def add(self, row: dict, late: bool = False) -> None:
        self.ids = {k: row[k] for k in ("patient_id", "encounter_id", "hospital_id", "unit", "bed")}
        self.readings += 1
        self.late += int(late)
        for v in WINDOW_VITALS:
            x = row.get(v)
            if x is None:
                continue
            self.sums[v] = self.sums.get(v, 0.0) + x
            self.counts[v] = self.counts.get(v, 0) + 1
            self.mins[v] = min(self.mins.get(v, x), x)
            self.maxs[v] = max(self.maxs.get(v, x), x)
        total = row.get("news2_total")
        if total is not None and (self.news2_max is None or total > self.news2_max):
            self.news2_max = total
        if BAND_ORDER.get(row.get("news2_band"), -1) > BAND_ORDER.get(self.band_worst, -1):
            self.band_worst = row.get("news2_band")
        self.flags.update(row.get("flags") or ())

    def add_alert(self, severity: str, status: str) -> None:
        if status in ("open", "escalated", "re-alert"):
            self.alerts += 1
            self.critical_alerts += int(severity == "critical")

    def row(self) -> dict:
        out = {**self.ids, "window_start": self.start, "window_end": self.start + PATIENT_WINDOW_MS,
               "readings": self.readings, "late_readings": self.late, "news2_max": self.news2_max,
               "news2_band_worst": self.band_worst, "flags": sorted(self.flags), "alerts": self.alerts,
               "critical_alerts": self.critical_alerts}
        for v in WINDOW_VITALS:
            n = self.counts.get(v)
            out[f"{v}_min"] = self.mins.get(v)
            out[f"{v}_max"] = self.maxs.get(v)
            out[f"{v}_mean"] = round(self.sums[v] / n, 2) if n else None
        return out


@dataclass
class UnitLoad:
    """A unit's load over five minutes, from its patients' 1-minute rows."""

    start: int
    hospital_id: str = ""
    unit: str = ""
    patients: set = field(default_factory=set)
    critical: set = field(default_factory=set)
    urgent: set = field(default_factory=set)
    readings: int = 0
    alerts: int = 0

    def add(self, minute: dict, urgent_at: float = 5, emergency_at: float = 7) -> None:
        self.hospital_id, self.unit = minute["hospital_id"], minute["unit"]
        pid = minute["patient_id"]
        self.patients.add(pid)
        news2 = minute.get("news2_max")
        if minute.get("critical_alerts") or (news2 is not None and news2 >= emergency_at):
            self.critical.add(pid)
        elif news2 is not None and news2 >= urgent_at:
            self.urgent.add(pid)
        self.readings += minute["readings"]
        self.alerts += minute.get("alerts", 0)

    def row(self) -> dict:
        return {"hospital_id": self.hospital_id, "unit": self.unit, "window_start": self.start,
                "window_end": self.start + UNIT_WINDOW_MS, "patients": len(self.patients),
                "critical_patients": len(self.critical), "urgent_patients": len(self.urgent - self.critical),
                "readings": self.readings, "alerts": self.alerts}


@dataclass
class WindowSet:
    """Open windows of one key, closed by the watermark or, when the stream is quiet, by a
    processing-time deadline ``idle_close_ms`` (+ ``grace_ms``) after the window's end and after
    the stream last moved. A record for a window already closed is *late*: counted, and kept out
    of the aggregate (its own row still reaches the lake)."""

    size_ms: int
    idle_close_ms: int
    grace_ms: int = 0  # added to the processing-time deadline (unit windows: UNIT_DEADLINE_GRACE_MS)
    open: dict = field(default_factory=dict)  # start -> accumulator
    deadlines: dict = field(default_factory=dict)  # start -> processing-time deadline
    closed_before: int = -(2**62)  # every window ending at or before this is closed
    # The earliest timer of each kind registered and not yet fired. One pending timer per kind
    # is enough (the next is registered when it fires); registering one per window crossed into
    # the JVM twice per new window, a tenth of the job's Python time on a backlog (bench profile).
    event_timer: int | None = None
    proc_timer: int | None = None
    pending_late: int = 0  # late readings seen since the last window closed, counted on the next one
    watermark_seen: int = -(2**62)  # the highest watermark this key has seen

    def _stay_open_until(self, ms: int) -> None:
        for start, deadline in self.deadlines.items():
            if deadline < ms:
                self.deadlines[start] = ms

    def _moving(self, watermark: int, now_ms: int, active_ms: int | None) -> None:
        """Wall-clock deadlines are for a stream gone quiet: they wait while the watermark moves or
        the operator still gets elements (``active_ms``: its last). Counted only from a window's
        opening, they closed the minutes of a catch-up (a reprocessed day, a backlog) whose next
        readings were one batch of reading away, and those came late (a reprocessed day's 71,674
        readings had 316 late with windows.idle.close.ms=3000)."""
        wait = self.idle_close_ms + self.grace_ms
        if watermark > self.watermark_seen:
            self.watermark_seen = watermark
            self._stay_open_until(now_ms + wait)
        if active_ms is not None:
            self._stay_open_until(active_ms + wait)

    def count_late(self, n: int, watermark: int, now_ms: int) -> None:
        """Readings stamped in an already-closed window: counted in ``late_readings`` of the next
        row this key closes (the minute they arrived in), so sum(late_readings) = count(vitals.late)."""
        self.pending_late += n

    def get(self, ts_ms: int, watermark: int, now_ms: int, factory) -> tuple[object | None, list[tuple]]:
        """(accumulator, timers to register as (event time, processing time), either may be None); None when late."""
        self._moving(watermark, now_ms, None)
        start = window_start(ts_ms, self.size_ms)
        end = start + self.size_ms
        if end <= self.closed_before or end - 1 <= watermark:
            return None, []
        if start in self.open:
            return self.open[start], []
        acc = self.open[start] = factory(start)
        # Live data: idle_close after the window's end; a backfill of old data: idle_close from now.
        self.deadlines[start] = max(end, now_ms) + self.idle_close_ms + self.grace_ms
        return acc, self._earlier_timers(end - 1, self.deadlines[start])

    def _earlier_timers(self, event_ts: int, proc_ts: int) -> list[tuple]:
        """The timers to register: those earlier than the pending one of their kind."""
        e = p = None
        if self.event_timer is None or event_ts < self.event_timer:
            self.event_timer = e = event_ts
        if self.proc_timer is None or proc_ts < self.proc_timer:
            self.proc_timer = p = proc_ts
        return [] if e is None and p is None else [(e, p)]

    def next_timers(self) -> list[tuple]:
        """After ``due``: the timers the earliest still-open window needs."""
        if not self.open:
            return []
        return self._earlier_timers(min(self.open) + self.size_ms - 1, min(self.deadlines.values()))

    def due(self, watermark: int, now_ms: int, active_ms: int | None = None) -> list:
        """Accumulators whose window is over, oldest first; they are removed. ``active_ms``: when the
        operator last got an element (of any key): the stream is not quiet before it."""
        self._moving(watermark, now_ms, active_ms)
        out = []
        for start in sorted(self.open):
            if start + self.size_ms - 1 <= watermark or self.deadlines[start] <= now_ms:
                out.append(self.open.pop(start))
                del self.deadlines[start]
                self.closed_before = max(self.closed_before, start + self.size_ms)
        if out and self.pending_late and hasattr(out[0], "late"):
            out[0].late += self.pending_late
            self.pending_late = 0
        if self.event_timer is not None and self.event_timer <= watermark:
            self.event_timer = None  # it has fired
        if self.proc_timer is not None and self.proc_timer <= now_ms:
            self.proc_timer = None
        return out
