"""What the ward board shows, read from the curated lake with DuckDB (the local Athena).

Plain Python over SQL: no web framework here, so the board's content is tested without a
browser. Time on the board runs on the data's own clock (the newest reading in the lake), so a
replayed or simulated day reads the same as a live one; how far that clock is behind the wall
clock is shown as the lake's lag.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb

from reports.engine import LocalAthena

# The latest status of an episode -> the state a nurse works from.
STATE = {"open": "open", "worsened": "open", "re-alert": "open", "escalated": "escalated", "overdue": "overdue",
         "acknowledged": "acknowledged"}
CLOSED = ("all-clear",)
BED_ONLY = ("silence", "resume")  # about the bed, not an episode
VITALS = ("heart_rate", "respiratory_rate", "spo2", "systolic_bp", "diastolic_bp", "temperature_c", "consciousness",
          "on_oxygen")


@dataclass
class BoardSource:
    """The lake the board reads and the settings that shape what it shows."""

    lake: str
    hospital_names: dict[str, str] = field(default_factory=dict)
    stale_after_ms: int = 5 * 3600 * 1000  # the job's carry-forward limit: older values no longer count in NEWS2
    hours: float = 6.0  # how far back a patient's trend goes

    def engine(self) -> LocalAthena:
        return LocalAthena(self.lake)  # views over the files there now: new files are seen on the next call

    def _since(self, clock_ms: int, hours: float) -> str:
        """The first ``dt`` partition a query needs (partition pruning, as on Athena)."""
        return (datetime.fromtimestamp(clock_ms / 1000, UTC) - timedelta(hours=hours)).date().isoformat()

    def board(self) -> dict:
        con = self.engine().con
        clock = con.execute("SELECT epoch_ms(max(ts)), epoch_ms(max(processed_ts)) FROM vitals").fetchone()
        clock_ms, processed_ms = clock if clock and clock[0] is not None else (None, None)
        out = {"data_clock": clock_ms, "lag_s": None if processed_ms is None else round(time.time() - processed_ms / 1000, 1),
               "stale_after_s": self.stale_after_ms // 1000, "hospitals": []}
        if clock_ms is None:
            return out
        since = self._since(clock_ms, max(self.hours, self.stale_after_ms / 3_600_000) + 1)
        beds = self._beds(con, since, clock_ms)
        alerts = self._open_alerts(con, since)
        load = self._unit_load(con, since)
        units: dict[tuple[str, str], dict] = {}
        for key in sorted({*((b["hospital_id"], b["unit"]) for b in beds), *load}):
            units[key] = {"unit": key[1], "load": load.get(key), "beds": []}
        for bed in beds:
            bed["alerts"] = alerts.get(bed["patient_id"], {}).get("episodes", [])
            bed["silenced"] = alerts.get(bed["patient_id"], {}).get("silenced")
            units[(bed["hospital_id"], bed["unit"])]["beds"].append(bed)
        hospitals: dict[str, dict] = {}
        for (hospital, _), unit in units.items():
            entry = hospitals.setdefault(hospital, {"hospital_id": hospital, "name": self.hospital_names.get(hospital, hospital),
                                                    "units": []})
            unit["open_alerts"] = sum(1 for b in unit["beds"] for a in b["alerts"] if a["state"] != "acknowledged")
            entry["units"].append(unit)
        out["hospitals"] = list(hospitals.values())
        return out

    def _beds(self, con, since: str, clock_ms: int) -> list[dict]:
        """Every occupied bed: the newest patient in it (not discharged since), each vital's latest value and age."""
        latest_vitals = ", ".join(
            f"arg_max({v}, ts) FILTER (WHERE {v} IS NOT NULL) AS {v}, "
            f"epoch_ms(max(ts) FILTER (WHERE {v} IS NOT NULL)) AS {v}_ts" for v in VITALS)
        rows = con.execute(f"""
            WITH p AS (
              SELECT patient_id, arg_max(hospital_id, ts) AS hospital_id, arg_max(unit, ts) AS unit,
                     arg_max(bed, ts) AS bed, epoch_ms(max(ts)) AS last_ts, {latest_vitals},
                     -- the newest row's score, even when it is empty (arg_max would skip to an older one)
                     arg_max_null(news2_total, ts) AS news2_total, arg_max_null(news2_partial, ts) AS news2_partial,
                     arg_max_null(news2_band, ts) AS news2_band, arg_max_null(news2_missing, ts) AS news2_missing,
                     arg_max_null(news2_carried, ts) AS news2_carried,
                     arg_max(spo2_scale, ts) AS spo2_scale
              FROM vitals WHERE dt >= ? GROUP BY patient_id
            ), gone AS (
              SELECT patient_id, epoch_ms(max(ts)) AS discharged FROM encounters
              WHERE dt >= ? AND event = 'discharge' GROUP BY patient_id
            ), placed AS (
              SELECT p.*, row_number() OVER (PARTITION BY p.hospital_id, p.unit, p.bed ORDER BY p.last_ts DESC) AS n
              FROM p LEFT JOIN gone g USING (patient_id)
              WHERE (g.discharged IS NULL OR g.discharged < p.last_ts) AND p.last_ts >= ?
            )
            SELECT * EXCLUDE (n) FROM placed WHERE n = 1 ORDER BY hospital_id, unit, bed
        """, [since, since, clock_ms - self.stale_after_ms]).fetchall()
        names = [d[0] for d in con.description]
        beds = []
        for row in rows:
            r = dict(zip(names, row, strict=True))
            vitals = {v: {"value": r[v], "age_s": None if r[f"{v}_ts"] is None else (clock_ms - r[f"{v}_ts"]) // 1000,
                          "stale": r[f"{v}_ts"] is not None and clock_ms - r[f"{v}_ts"] > self.stale_after_ms}
                      for v in VITALS}
            beds.append({
                "hospital_id": r["hospital_id"], "unit": r["unit"], "bed": r["bed"], "patient_id": r["patient_id"],
                "last_reading_age_s": (clock_ms - r["last_ts"]) // 1000, "vitals": vitals,
                "news2": {"total": r["news2_total"], "partial": r["news2_partial"], "band": r["news2_band"],
                          "missing": list(r["news2_missing"] or []), "carried": list(r["news2_carried"] or []),
                          "spo2_scale": r["spo2_scale"]},
            })
        return beds

    def _open_alerts(self, con, since: str) -> dict[str, dict]:
        """Per patient: each episode still open (its headline and state) and whether the bed is silenced."""
        rows = con.execute("""
            SELECT patient_id, coalesce(episode_id, alert_id) AS episode, alert_id, rule, severity, status, tier,
                   epoch_ms(ts) AS ts, message, epoch_ms(episode_start) AS start
            FROM alerts WHERE dt >= ? ORDER BY patient_id, ts, alert_id
        """, [since]).fetchall()
        out: dict[str, dict] = {}
        episodes: dict[tuple[str, str], dict] = {}
        for pid, episode, aid, rule, severity, status, tier, ts, message, start in rows:
            mine = out.setdefault(pid, {"episodes": [], "silenced": None})
            if status in BED_ONLY:
                mine["silenced"] = {"since_ms": ts, "message": message} if status == "silence" else None
                continue
            ep = episodes.get((pid, episode))
            if ep is None:
                ep = episodes[(pid, episode)] = {"episode_id": episode, "patient_id": pid, "opened_ms": start or ts}
            ep.update(state=STATE.get(status, status), status=status, last_ts=ts, last_alert_id=aid)
            if status != "acknowledged":  # the headline is what was paged, not the acknowledgement
                ep.update(rule=rule, severity=severity, message=message, tier=tier)
            if status == "acknowledged":
                ep["acknowledged"] = message
        for (pid, _), ep in episodes.items():
            if ep["status"] not in CLOSED and "rule" in ep:
                out[pid]["episodes"].append(ep)
        for mine in out.values():
            mine["episodes"].sort(key=lambda e: ({"critical": 0, "urgent": 1}.get(e["severity"], 2), -e["last_ts"]))
        return out

    def _unit_load(self, con, since: str) -> dict[tuple[str, str], dict]:
        rows = con.execute("""
            SELECT hospital_id, unit, arg_max(patients, window_end), arg_max(critical_patients, window_end),
                   arg_max(urgent_patients, window_end), arg_max(readings, window_end), arg_max(alerts, window_end),
                   epoch_ms(max(window_end))
            FROM unit_load_5m WHERE dt >= ? GROUP BY hospital_id, unit
        """, [since]).fetchall()
        return {(h, u): {"patients": p, "critical": c, "urgent": g, "readings": r, "alerts": a, "window_end": w}
                for h, u, p, c, g, r, a, w in rows}

    def patient(self, patient_id: str) -> dict | None:
        """One patient's vitals and NEWS2 over the last ``hours`` of data, and the alert timeline."""
        con = self.engine().con
        [(clock_ms,)] = con.execute("SELECT epoch_ms(max(ts)) FROM vitals").fetchall()
        if clock_ms is None:
            return None
        since_ms = clock_ms - int(self.hours * 3_600_000)
        since = self._since(clock_ms, self.hours)
        points = con.execute(f"""
            SELECT epoch_ms(ts), {", ".join(VITALS)}, news2_total, news2_partial, news2_band, hospital_id, unit, bed
            FROM vitals WHERE dt >= ? AND patient_id = ? AND ts >= make_timestamp(? * 1000)
            ORDER BY ts
        """, [since, patient_id, since_ms]).fetchall()
        if not points:
            return None
        names = ["ts", *VITALS, "news2_total", "news2_partial", "news2_band"]
        timeline = con.execute("""
            SELECT epoch_ms(ts), status, rule, severity, tier, message, alert_id, coalesce(episode_id, alert_id)
            FROM alerts WHERE dt >= ? AND patient_id = ? ORDER BY ts, alert_id
        """, [since, patient_id]).fetchall()
        *_, hospital, unit, bed = points[-1]
        return {
            "patient_id": patient_id, "hospital_id": hospital, "hospital": self.hospital_names.get(hospital, hospital),
            "unit": unit, "bed": bed, "data_clock": clock_ms, "hours": self.hours,
            "points": [dict(zip(names, p[: len(names)], strict=True)) for p in points],
            "timeline": [{"ts": t, "status": s, "rule": r, "severity": sev, "tier": tier, "message": m, "alert_id": a,
                          "episode_id": e} for t, s, r, sev, tier, m, a, e in timeline],
        }

    def alert(self, alert_id: str) -> dict | None:
        """The stored alert a clinician answers (who it is about comes from here, never from the browser)."""
        row = self.engine().con.execute(
            "SELECT alert_id, patient_id, hospital_id, coalesce(episode_id, alert_id) FROM alerts WHERE alert_id = ? LIMIT 1",
            [alert_id]).fetchone()
        return None if row is None else dict(zip(("alert_id", "patient_id", "hospital_id", "episode_id"), row, strict=True))

    def version(self) -> str:
        """Changes when a new file lands in a table the board shows (the lake is append-only)."""
        # A bare connection: this runs every second per open page, and needs no table views.
        files = duckdb.connect().execute(
            f"SELECT count(*), max(file) FROM glob('{self.lake.rstrip('/')}/*/dt=*/*/*.parquet')").fetchone()
        return json.dumps(files)
