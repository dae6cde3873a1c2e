"""Parquet schemas of the curated tables: the contract Athena, Glue and DuckDB read.

Every table is partitioned Hive-style ``dt=YYYY-MM-DD/hour=HH`` (UTC) by the column named in
``PARTITION_TIME``; the partition columns live in the path, not in the files. Columns are
only ever added at the end, never renamed or retyped, so old files stay readable.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")

_NEWS2_SUBSCORES = ("respiratory_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature_c")

VITALS = pa.schema([
    ("reading_id", pa.string()), ("patient_id", pa.string()), ("encounter_id", pa.string()),
    ("hospital_id", pa.string()), ("unit", pa.string()), ("bed", pa.string()), ("device_id", pa.string()),
    ("source", pa.string()), ("ts", TS),
    ("heart_rate", pa.float64()), ("respiratory_rate", pa.float64()), ("spo2", pa.float64()),
    ("spo2_scale", pa.int8()), ("systolic_bp", pa.float64()), ("diastolic_bp", pa.float64()),
    ("temperature_c", pa.float64()), ("blood_glucose_mg_dl", pa.float64()), ("consciousness", pa.string()),
    ("on_oxygen", pa.bool_()), ("oxygen_flow_l_min", pa.float64()), ("oxygen_device", pa.string()),
    ("flags", pa.list_(pa.string())),
    ("news2_total", pa.int16()), ("news2_partial", pa.int16()), ("news2_missing", pa.list_(pa.string())),
    ("news2_band", pa.string()), ("news2_red_score", pa.bool_()), ("news2_not_applicable", pa.string()),
    *[(f"news2_{name}", pa.int8()) for name in _NEWS2_SUBSCORES],
    ("qsofa", pa.int8()), ("qsofa_complete", pa.bool_()), ("sirs_vital_criteria", pa.int8()),
    ("mews_total", pa.int16()), ("shock_index", pa.float64()), ("shock_index_category", pa.string()),
    ("bp_category", pa.string()),
    ("kinesis_shard", pa.string()), ("kinesis_seq", pa.string()), ("arrival_ts", TS), ("processed_ts", TS),
    ("news2_carried", pa.list_(pa.string())),  # parameters scored from an earlier reading
    ("news2_carried_max_age_s", pa.float64()),  # age of the oldest of them
    ("late", pa.bool_()),  # behind the watermark when it arrived: its 1-minute window had closed
    ("rejected_fields", pa.list_(pa.string())),  # "field: reason" for each implausible field removed
    ("age_years", pa.int16()), ("pregnant", pa.bool_()),  # as scored (the reading's, else the patient's)
    ("patient_key", pa.string()), ("encounter_key", pa.string()),  # pseudonymous (core/pseudonym.py), for analysts
])

ALERTS = pa.schema([
    ("alert_id", pa.string()), ("rule", pa.string()), ("severity", pa.string()), ("status", pa.string()),
    ("patient_id", pa.string()), ("encounter_id", pa.string()), ("hospital_id", pa.string()),
    ("unit", pa.string()), ("bed", pa.string()), ("ts", TS), ("episode_start", TS),
    ("message", pa.string()), ("values_json", pa.string()), ("news2_total", pa.int16()),
    ("streamed", pa.bool_()), ("stream_sequence", pa.string()), ("streamed_ts", TS),
    ("paged", pa.bool_()),  # false: recorded only (backlog episode, silenced bed, all-clear of an unpaged episode)
    ("delayed", pa.bool_()), ("tier", pa.string()), ("context", pa.list_(pa.string())),
    ("oldest_value_age_s", pa.float64()), ("episode_id", pa.string()),
    ("patient_key", pa.string()), ("encounter_key", pa.string()),  # pseudonymous (core/pseudonym.py), for analysts
])

DEAD_LETTER = pa.schema([
    ("stage", pa.string()),  # parse | validate (fields removed, rest kept) | enrich | publish | sink
    ("reason", pa.string()),
    ("payload", pa.string()),  # scrubbed (core/schema/phi.py): no identifying fields or values, at most 4 KB
    ("kinesis_shard", pa.string()), ("kinesis_seq", pa.string()),
    ("arrival_ts", TS), ("processed_ts", TS),
    ("raw_id", pa.string()),  # the unchanged record in the quarantine's dead_letter_raw, for replay
])

# The quarantine: refused records unchanged (UTF-8 text, or "base64:" and the bytes), for replay
# only. It lives outside the curated lake (lake.quarantine.path: on AWS its own bucket, key and
# short retention) and has no Glue table, so analysts never see it.
DEAD_LETTER_RAW = pa.schema([
    ("raw_id", pa.string()), ("stage", pa.string()), ("payload", pa.string()),
    ("kinesis_shard", pa.string()), ("kinesis_seq", pa.string()), ("arrival_ts", TS), ("processed_ts", TS),
])

ENCOUNTERS = pa.schema([
    ("event_id", pa.string()), ("event", pa.string()), ("patient_id", pa.string()), ("encounter_id", pa.string()),
    ("hospital_id", pa.string()), ("ts", TS), ("unit", pa.string()), ("bed", pa.string()), ("bed_type", pa.string()),
    ("room", pa.string()), ("age_years", pa.int16()), ("gender", pa.string()), ("blood_group", pa.string()),
    ("pre_existing_condition", pa.string()), ("reason_for_visit", pa.string()),
    ("symptoms", pa.list_(pa.string())), ("medications", pa.list_(pa.string())), ("tests", pa.list_(pa.string())),
    ("is_emergency", pa.bool_()), ("critical_condition", pa.bool_()), ("triage_level", pa.int8()),
    ("er_department", pa.string()), ("wait_minutes", pa.float64()), ("doctor_id", pa.string()),
    ("arrival_ts", TS), ("treatment_minutes", pa.float64()), ("length_of_stay_days", pa.float64()),
    ("discharge_notes", pa.string()), ("readmission_30d", pa.bool_()), ("covid_test", pa.string()),
    ("insurance_provider", pa.string()), ("payment_method", pa.string()), ("amount", pa.float64()),
    ("from_unit", pa.string()),
    ("kinesis_shard", pa.string()), ("kinesis_seq", pa.string()), ("processed_ts", TS),
    ("doctor_name", pa.string()), ("systolic_bp", pa.float64()), ("diastolic_bp", pa.float64()), ("spo2", pa.float64()),
    ("spo2_scale", pa.int8()), ("limits_json", pa.string()), ("rejected_fields", pa.list_(pa.string())),
    ("patient_key", pa.string()), ("encounter_key", pa.string()),  # pseudonymous (core/pseudonym.py), for analysts
])

_WINDOW_VITALS = ("heart_rate", "respiratory_rate", "spo2", "systolic_bp", "diastolic_bp", "temperature_c")
VITALS_1M = pa.schema([
    ("patient_id", pa.string()), ("encounter_id", pa.string()), ("hospital_id", pa.string()), ("unit", pa.string()),
    ("bed", pa.string()), ("window_start", TS), ("window_end", TS), ("readings", pa.int32()),
    ("late_readings", pa.int32()),
    *[(f"{v}_{agg}", pa.float64()) for v in _WINDOW_VITALS for agg in ("min", "max", "mean")],
    ("news2_max", pa.int16()), ("news2_band_worst", pa.string()), ("flags", pa.list_(pa.string())),
    ("alerts", pa.int32()), ("critical_alerts", pa.int32()),
    ("patient_key", pa.string()), ("encounter_key", pa.string()),  # pseudonymous (core/pseudonym.py), for analysts
])

UNIT_LOAD_5M = pa.schema([
    ("hospital_id", pa.string()), ("unit", pa.string()), ("window_start", TS), ("window_end", TS),
    ("patients", pa.int32()), ("critical_patients", pa.int32()), ("urgent_patients", pa.int32()),
    ("readings", pa.int32()), ("alerts", pa.int32()),
])

TABLES: dict[str, pa.Schema] = {
    "vitals": VITALS, "vitals_1m": VITALS_1M, "unit_load_5m": UNIT_LOAD_5M, "alerts": ALERTS,
    "encounters": ENCOUNTERS, "dead_letter": DEAD_LETTER,
}
QUARANTINE: dict[str, pa.Schema] = {"dead_letter_raw": DEAD_LETTER_RAW}
ALL_TABLES: dict[str, pa.Schema] = {**TABLES, **QUARANTINE}  # what the job's sink writes
# The column whose UTC date and hour name a row's partition.
PARTITION_TIME = {"vitals": "ts", "vitals_1m": "window_start", "unit_load_5m": "window_start", "alerts": "ts",
                  "dead_letter": "processed_ts", "encounters": "ts", "dead_letter_raw": "processed_ts"}
