"""Typed events on the stream, their JSON encoding and their validation.

Every record on the Kinesis stream is one JSON object with ``schema_version`` and ``type``
("vitals" or "encounter"). Decoding either returns a typed event or raises
``InvalidRecord`` whose ``reason`` says exactly what is wrong; the job sends those records to
the dead-letter table with that reason. No Flink or AWS imports.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import orjson

from flink_app.clinical.rules import PLAUSIBLE_RANGES
from flink_app.clinical.scores import ACVPU

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MAX_FUTURE_MS = 5 * 60 * 1000  # a reading stamped > 5 min ahead of the job's clock is rejected


class InvalidRecord(ValueError):
    """A record that cannot be processed; ``reason`` is stored in the dead-letter table."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Vital name -> canonical unit (UCUM) and the alternative units accepted with a converter.
VITAL_UNITS: dict[str, tuple[str, dict[str, Any]]] = {
    "heart_rate": ("/min", {"{beats}/min": float}),
    "respiratory_rate": ("/min", {"{breaths}/min": float}),
    "spo2": ("%", {}),
    "systolic_bp": ("mm[Hg]", {"kPa": lambda v: v * 7.50062}),
    "diastolic_bp": ("mm[Hg]", {"kPa": lambda v: v * 7.50062}),
    "temperature_c": ("Cel", {"[degF]": lambda v: (v - 32) * 5 / 9}),
    "blood_glucose_mg_dl": ("mg/dL", {"mmol/L": lambda v: v * 18.0156}),
    "oxygen_flow_l_min": ("L/min", {}),
}
VITALS = tuple(VITAL_UNITS)


@dataclass
class VitalsReading:
    """One measurement set from one device at one instant; absent vitals are None."""

    reading_id: str
    patient_id: str
    encounter_id: str
    hospital_id: str
    unit: str
    bed: str
    device_id: str
    ts_ms: int
    source: str = "bedside"  # bedside | wearable | manual | fhir
    heart_rate: float | None = None
    respiratory_rate: float | None = None
    spo2: float | None = None
    spo2_scale: int = 1
    systolic_bp: float | None = None
    diastolic_bp: float | None = None
    temperature_c: float | None = None
    blood_glucose_mg_dl: float | None = None
    consciousness: str | None = None
    on_oxygen: bool | None = None
    oxygen_flow_l_min: float | None = None
    oxygen_device: str | None = None
    age_years: int | None = None
    pregnant: bool = False
    schema_version: int = SCHEMA_VERSION
    type: str = "vitals"

    def vitals(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in VITALS}


ENCOUNTER_EVENTS = ("admission", "transfer", "discharge", "payment", "er_triage")


@dataclass
class EncounterEvent:
    """Admission, transfer, discharge, payment or ER triage, carrying the facts of source systems A and E.

    Deliberately absent: the patient's name and date of birth. Identities stay in the
    hospital's own systems (and the simulator's registry); the stream carries pseudonymous ids.
    """

    event_id: str
    event: str
    patient_id: str
    encounter_id: str
    hospital_id: str
    ts_ms: int
    unit: str | None = None
    bed: str | None = None
    bed_type: str | None = None  # general | semi-private | private | ICU
    room: str | None = None
    age_years: int | None = None
    gender: str | None = None
    blood_group: str | None = None
    pre_existing_condition: str | None = None
    reason_for_visit: str | None = None
    symptoms: list[str] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    is_emergency: bool | None = None
    critical_condition: bool | None = None
    triage_level: int | None = None  # 1 (most urgent) .. 5
    er_department: str | None = None  # trauma, pediatrics, general ER, cardiology, orthopedics
    wait_minutes: float | None = None
    doctor_id: str | None = None
    arrival_ts_ms: int | None = None
    treatment_minutes: float | None = None
    length_of_stay_days: float | None = None
    discharge_notes: str | None = None
    readmission_30d: bool | None = None
    covid_test: str | None = None  # positive | negative | not_tested
    insurance_provider: str | None = None
    payment_method: str | None = None  # insurance | cash | credit card
    amount: float | None = None
    from_unit: str | None = None
    doctor_name: str | None = None  # staff, not patient: the patient's name never enters the stream
    systolic_bp: float | None = None  # vitals taken at the event (source system A's "blood pressure")
    diastolic_bp: float | None = None
    spo2: float | None = None  # source system A's "oxygen level"
    schema_version: int = SCHEMA_VERSION
    type: str = "encounter"


@dataclass
class Alert:
    """What a clinician needs to act, and nothing more: no name, no date of birth."""

    alert_id: str  # stable: the same episode always yields the same id (SNS dedup key)
    rule: str
    severity: str  # critical | urgent | warning | info
    status: str  # open | re-alert | escalated | all-clear
    patient_id: str  # pseudonymous id, for the record; not shown in the pager text
    encounter_id: str
    hospital_id: str
    unit: str
    bed: str
    ts_ms: int  # event time of the reading that raised it
    episode_start_ms: int
    message: str
    values: dict[str, float | str | None] = field(default_factory=dict)
    news2_total: int | None = None
    source_arrival_ms: int | None = None  # when the reading that raised it reached Kinesis (latency metric)
    schema_version: int = SCHEMA_VERSION
    type: str = "alert"


def iso_ms(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(raw: Any, name: str = "ts") -> int:
    """ISO-8601 (offset required or Z) or epoch milliseconds -> epoch milliseconds UTC."""
    if isinstance(raw, bool):
        raise InvalidRecord(f"wrong type: {name} must be an ISO-8601 string or epoch milliseconds, got bool")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw) or raw < 0:
            raise InvalidRecord(f"unparsable timestamp: {name}={raw!r}")
        return int(raw)
    if not isinstance(raw, str):
        raise InvalidRecord(f"wrong type: {name} must be an ISO-8601 string or epoch milliseconds, got {type(raw).__name__}")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(f"unparsable timestamp: {name}={raw[:40]!r}") from None
    if parsed.tzinfo is None:
        raise InvalidRecord(f"unparsable timestamp: {name}={raw[:40]!r} has no UTC offset")
    return int(parsed.timestamp() * 1000)


def _require_str(obj: dict, name: str) -> str:
    if name not in obj or obj[name] is None:
        raise InvalidRecord(f"missing field: {name}")
    value = obj[name]
    if not isinstance(value, str):
        raise InvalidRecord(f"wrong type: {name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidRecord(f"missing field: {name} is empty")
    return value


def _number(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise InvalidRecord(f"wrong type: {name} must be a number, got {type(raw).__name__}")
    if not math.isfinite(raw):
        raise InvalidRecord(f"impossible value: {name}={raw}")
    return float(raw)


def _vital(obj: dict, name: str) -> float | None:
    """A vital as a bare number in its canonical unit or ``{"value": v, "unit": UCUM}``."""
    canonical, alternatives = VITAL_UNITS[name]
    raw = obj.get(name)
    if raw is None and name == "temperature_c":
        if obj.get("temperature_f") is not None:
            raw = {"value": obj["temperature_f"], "unit": "[degF]"}
            name_in = "temperature_f"
        elif obj.get("temperature") is not None:
            raw, name_in = obj["temperature"], "temperature"
        else:
            return None
    else:
        name_in = name
    if raw is None:
        return None
    if isinstance(raw, dict):
        unit = raw.get("unit")
        value = _number(f"{name_in}.value", raw.get("value"))
        if unit == canonical:
            pass
        elif unit in alternatives:
            value = alternatives[unit](value)
        else:
            raise InvalidRecord(f"unknown unit: {name_in}.unit={unit!r}, expected {canonical!r} or one of {sorted(alternatives)}")
    else:
        value = _number(name_in, raw)
        if name_in == "temperature_f":
            value = (value - 32) * 5 / 9
    lo, hi, unit = PLAUSIBLE_RANGES[name]
    if not lo <= value <= hi:
        shown = raw["value"] if isinstance(raw, dict) else raw
        raise InvalidRecord(f"impossible value: {name_in}={shown} outside {lo}..{hi} {unit}")
    return value


def _check_future(ts_ms: int, now_ms: int | None) -> None:
    if now_ms is not None and ts_ms > now_ms + MAX_FUTURE_MS:
        raise InvalidRecord(f"timestamp too far in the future: ts={iso_ms(ts_ms)} is more than "
                            f"{MAX_FUTURE_MS // 60000} min after {iso_ms(now_ms)}")


def _check_version(obj: dict) -> None:
    version = obj.get("schema_version")
    if version is None:
        raise InvalidRecord("missing field: schema_version")
    if version not in SUPPORTED_VERSIONS:
        raise InvalidRecord(f"unsupported schema_version {version!r}; supported: {SUPPORTED_VERSIONS}")


def reading_from_dict(obj: dict, now_ms: int | None = None) -> VitalsReading:
    _check_version(obj)
    ids = {n: _require_str(obj, n) for n in ("reading_id", "patient_id", "encounter_id", "hospital_id", "unit", "bed", "device_id")}
    if "ts" not in obj:
        raise InvalidRecord("missing field: ts")
    ts_ms = parse_timestamp(obj["ts"])
    _check_future(ts_ms, now_ms)
    vitals = {name: _vital(obj, name) for name in VITALS}
    if all(v is None for k, v in vitals.items() if k != "oxygen_flow_l_min") and obj.get("consciousness") is None:
        raise InvalidRecord("missing field: a reading needs at least one vital sign")
    consciousness = obj.get("consciousness")
    if consciousness is not None and consciousness not in ACVPU:
        raise InvalidRecord(f"impossible value: consciousness={consciousness!r}, expected one of {'/'.join(ACVPU)}")
    scale = obj.get("spo2_scale", 1)
    if scale not in (1, 2):
        raise InvalidRecord(f"impossible value: spo2_scale={scale!r}, expected 1 or 2")
    on_oxygen = obj.get("on_oxygen")
    if on_oxygen is not None and not isinstance(on_oxygen, bool):
        raise InvalidRecord(f"wrong type: on_oxygen must be true or false, got {type(on_oxygen).__name__}")
    if on_oxygen is None and vitals["oxygen_flow_l_min"] is not None:
        on_oxygen = vitals["oxygen_flow_l_min"] > 0
    sbp, dbp = vitals["systolic_bp"], vitals["diastolic_bp"]
    if sbp is not None and dbp is not None and dbp >= sbp:
        raise InvalidRecord(f"impossible value: diastolic_bp={dbp:g} is not below systolic_bp={sbp:g}")
    age = obj.get("age_years")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
        raise InvalidRecord(f"impossible value: age_years={age!r}")
    source = obj.get("source", "bedside")
    return VitalsReading(
        **ids, ts_ms=ts_ms, source=source if isinstance(source, str) else "bedside",
        **vitals, spo2_scale=scale, consciousness=consciousness, on_oxygen=on_oxygen,
        oxygen_device=obj.get("oxygen_device") if isinstance(obj.get("oxygen_device"), str) else None,
        age_years=age, pregnant=bool(obj.get("pregnant", False)),
    )


_ENCOUNTER_FIELDS = {f.name for f in fields(EncounterEvent)}
# Field -> the JSON kind it must have (from the annotations: "float | None" -> float, ...).
_ENCOUNTER_KINDS = {f.name: k for f in fields(EncounterEvent)
                    for k in (float, bool, str) if str(f.type).startswith(k.__name__)}


def encounter_from_dict(obj: dict, now_ms: int | None = None) -> EncounterEvent:
    _check_version(obj)
    ids = {n: _require_str(obj, n) for n in ("event_id", "event", "patient_id", "encounter_id", "hospital_id")}
    if ids["event"] not in ENCOUNTER_EVENTS:
        raise InvalidRecord(f"impossible value: event={ids['event']!r}, expected one of {', '.join(ENCOUNTER_EVENTS)}")
    if "ts" not in obj:
        raise InvalidRecord("missing field: ts")
    ts_ms = parse_timestamp(obj["ts"])
    _check_future(ts_ms, now_ms)
    extra = {k: v for k, v in obj.items() if k in _ENCOUNTER_FIELDS and k not in ids and k not in ("ts_ms", "type", "schema_version")}
    if "arrival_ts" in obj:
        extra["arrival_ts_ms"] = parse_timestamp(obj["arrival_ts"], "arrival_ts")
    for name, value in extra.items():
        kind = _ENCOUNTER_KINDS.get(name)
        if value is None or kind is None:
            continue
        if kind is float:
            extra[name] = _number(name, value)
        elif kind is bool and not isinstance(value, bool):
            raise InvalidRecord(f"wrong type: {name} must be true or false, got {type(value).__name__}")
        elif kind is str and not isinstance(value, str):
            raise InvalidRecord(f"wrong type: {name} must be a string, got {type(value).__name__}")
    age = extra.get("age_years")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
        raise InvalidRecord(f"impossible value: age_years={age!r}")
    triage = extra.get("triage_level")
    if triage is not None and (isinstance(triage, bool) or triage not in (1, 2, 3, 4, 5)):
        raise InvalidRecord(f"impossible value: triage_level={triage!r}, expected 1..5")
    for name in ("symptoms", "medications", "tests"):
        if name in extra and not (isinstance(extra[name], list) and all(isinstance(x, str) for x in extra[name])):
            raise InvalidRecord(f"wrong type: {name} must be a list of strings")
    return EncounterEvent(**ids, ts_ms=ts_ms, **extra)


def decode(data: bytes | str, now_ms: int | None = None) -> VitalsReading | EncounterEvent:
    """Bytes from the stream -> a typed event, or InvalidRecord with the reason."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"not JSON: {exc.args[0][:80]}") from None
    if not isinstance(obj, dict):
        raise InvalidRecord(f"wrong type: record must be a JSON object, got {type(obj).__name__}")
    kind = obj.get("type", "vitals")
    if kind == "vitals":
        return reading_from_dict(obj, now_ms)
    if kind == "encounter":
        return encounter_from_dict(obj, now_ms)
    raise InvalidRecord(f"unknown record type {kind!r}; expected 'vitals' or 'encounter'")


def to_wire(event: VitalsReading | EncounterEvent | Alert) -> dict:
    """The JSON object for an event: ``ts`` as ISO-8601, None values left out."""
    out = {k: v for k, v in asdict(event).items() if v is not None and v != []}
    out["ts"] = iso_ms(out.pop("ts_ms"))
    if "arrival_ts_ms" in out:
        out["arrival_ts"] = iso_ms(out.pop("arrival_ts_ms"))
    return out


def encode(event: VitalsReading | EncounterEvent | Alert) -> bytes:
    return orjson.dumps(to_wire(event))
