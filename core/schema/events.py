"""Typed events on the stream, their JSON encoding and their validation.

Every record on the Kinesis stream is one JSON object with ``schema_version`` and ``type``
("vitals" or "encounter"). Decoding either returns a typed event or raises
``InvalidRecord`` whose ``reason`` says exactly what is wrong; the job sends those records to
the dead-letter table with that reason. No Flink or AWS imports.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import orjson

from core.clinical.rules import PLAUSIBLE_RANGES
from core.clinical.scores import ACVPU

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MAX_FUTURE_MS = 5 * 60 * 1000  # a reading stamped > 5 min ahead of the job's clock is rejected
# No WardWatch deployment predates 2024: an earlier time is a broken clock or epoch seconds read
# as milliseconds (1.7e9 s is January 1970 in ms), and would land in partitions Athena never reads.
EARLIEST_TS_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
LATEST_TS_MS = 4_102_444_800_000  # 2100-01-01T00:00Z: the bound when no clock is given
MAX_ID_CHARS = 64
# Control characters (C0, DEL, C1) and Unicode line/paragraph separators: they would break a log
# line, an SNS subject (real SNS rejects CR/LF) or a terminal (ANSI escapes start with ESC).
_BAD_ID = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_REASON_CHARS = 300


class InvalidRecord(ValueError):
    """A record that cannot be processed; ``reason`` is stored in the dead-letter table."""

    def __init__(self, reason: str):
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS - 1] + "…"
        super().__init__(reason)
        self.reason = reason


def shown(value: Any, limit: int = 40) -> str:
    """A value as quoted in a reason: repr, cut short (a reason never echoes a whole payload)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
    spo2_scale: int | None = None  # only when the sender states it; else the patient's ordered scale applies
    systolic_bp: float | None = None
    diastolic_bp: float | None = None
    temperature_c: float | None = None
    blood_glucose_mg_dl: float | None = None
    consciousness: str | None = None
    on_oxygen: bool | None = None
    oxygen_flow_l_min: float | None = None
    oxygen_device: str | None = None
    age_years: int | None = None
    pregnant: bool | None = None
    rejected_fields: list[str] = field(default_factory=list)  # "name: reason" for each field removed
    schema_version: int = SCHEMA_VERSION
    type: str = "vitals"

    def vitals(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in VITALS}


ENCOUNTER_EVENTS = ("admission", "transfer", "discharge", "payment", "er_triage", "order")


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
    # Orders (event "order", or carried by an admission or transfer): the patient's prescribed
    # SpO2 scale (2: hypercapnic, target 88-92%) and clinician-adjusted alerting limits.
    spo2_scale: int | None = None
    limits: dict[str, float] = field(default_factory=dict)  # e.g. {"news2.urgent": 7}
    rejected_fields: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    type: str = "encounter"


@dataclass
class Alert:
    """What a clinician needs to act, and nothing more: no name, no date of birth."""

    alert_id: str  # stable: the same episode always yields the same id (SNS dedup key)
    rule: str
    severity: str  # critical | urgent | warning | info
    status: str  # open | worsened | re-alert | escalated | overdue | all-clear | acknowledged | silence | resume
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
    paged: bool = True  # False: recorded only (an all-clear nobody was paged for, a backlog episode, a silenced bed)
    delayed: bool = False  # about readings older than detection.delayed.after.ms (a catch-up)
    tier: str | None = None  # escalation tier of an "escalated" page (charge_nurse, rapid_response, ...)
    context: list[str] = field(default_factory=list)  # the patient's other active conditions
    oldest_value_age_s: float | None = None  # age of the oldest value behind the page
    episode_id: str | None = None  # the patient's episode this page belongs to (acknowledge by it)
    schema_version: int = SCHEMA_VERSION
    type: str = "alert"


def iso_ms(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clock_text(ts_ms: int, now_ms: int) -> str:
    """A time as a page shows it: ``18:07Z`` on the reader's day, ``2 Dec 18:07Z`` on another, so
    a reading replayed a day late never reads as a time still to come."""
    t, now = (datetime.fromtimestamp(ms / 1000, tz=UTC) for ms in (ts_ms, now_ms))
    return t.strftime("%H:%MZ") if t.date() == now.date() else f"{t.day} {t.strftime('%b %H:%MZ')}"


def parse_timestamp(raw: Any, name: str = "ts") -> int:
    """ISO-8601 (offset required or Z) or epoch milliseconds -> epoch milliseconds UTC, inside
    [EARLIEST_TS_MS, LATEST_TS_MS]."""
    if isinstance(raw, bool):
        raise InvalidRecord(f"wrong type: {name} must be an ISO-8601 string or epoch milliseconds, got bool")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise InvalidRecord(f"unparsable timestamp: {name}={shown(raw)}")
        if 0 < raw < 1e11:
            raise InvalidRecord(f"unparsable timestamp: {name}={shown(raw)} looks like epoch seconds; "
                                "send epoch milliseconds or ISO-8601")
        ts_ms = raw
    elif isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise InvalidRecord(f"unparsable timestamp: {name}={shown(raw)} has no UTC offset")
            ts_ms = parsed.timestamp() * 1000
        except (ValueError, OverflowError, OSError) as exc:
            if isinstance(exc, InvalidRecord):
                raise
            raise InvalidRecord(f"unparsable timestamp: {name}={shown(raw)}") from None
    else:
        raise InvalidRecord(f"wrong type: {name} must be an ISO-8601 string or epoch milliseconds, got {type(raw).__name__}")
    if not EARLIEST_TS_MS <= ts_ms < LATEST_TS_MS:
        raise InvalidRecord(f"impossible value: {name}={shown(raw)} is outside 2024-01-01..2100-01-01")
    return int(ts_ms)


def _require_str(obj: dict, name: str) -> str:
    """An identifier: a non-empty string of at most MAX_ID_CHARS, no control characters."""
    if name not in obj or obj[name] is None:
        raise InvalidRecord(f"missing field: {name}")
    value = obj[name]
    if not isinstance(value, str):
        raise InvalidRecord(f"wrong type: {name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidRecord(f"missing field: {name} is empty")
    if len(value) > MAX_ID_CHARS:
        raise InvalidRecord(f"impossible value: {name} is {len(value)} characters long (at most {MAX_ID_CHARS})")
    if _BAD_ID.search(value):
        raise InvalidRecord(f"impossible value: {name}={shown(value)} contains control characters")
    return value


def _optional_text(obj: dict, name: str, errors: list[str], limit: int = MAX_ID_CHARS) -> str | None:
    """A short descriptive string (device, oxygen device, source): removed with a reason when bad."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or _BAD_ID.search(value):
        errors.append(f"{name}: must be a string of at most {limit} characters without control characters")
        return None
    return value


def _number(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise InvalidRecord(f"wrong type: {name} must be a number, got {type(raw).__name__}")
    if not math.isfinite(raw):
        raise InvalidRecord(f"impossible value: {name}={raw}")
    if raw == 0 and math.copysign(1.0, raw) < 0:
        raise InvalidRecord(f"impossible value: {name}=-0.0 (a negative zero is a broken sender)")
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
        if not isinstance(unit, str):
            raise InvalidRecord(f"wrong type: {name_in}.unit must be a string, got {type(unit).__name__}")
        if unit == canonical:
            pass
        elif unit in alternatives:
            value = alternatives[unit](value)
        else:
            raise InvalidRecord(f"unknown unit: {name_in}.unit={shown(unit)}, expected {canonical!r} or one of {sorted(alternatives)}")
    else:
        value = _number(name_in, raw)
        if name_in == "temperature_f":
            value = (value - 32) * 5 / 9
    lo, hi, unit = PLAUSIBLE_RANGES[name]
    if not lo <= value <= hi:
        value_in = raw["value"] if isinstance(raw, dict) else raw
        raise InvalidRecord(f"impossible value: {name_in}={shown(value_in)} outside {lo}..{hi} {unit}")
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


def _field(errors: list[str], name: str, parse, *args):
    """A field's parsed value, or None with ``name: reason`` added to ``errors`` (field-level validation)."""
    try:
        return parse(*args)
    except InvalidRecord as exc:
        errors.append(f"{name}: {exc.reason}")
        return None


def _choice(obj: dict, name: str, allowed: tuple) -> Any:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, type(allowed[0])) or value not in allowed:
        raise InvalidRecord(f"impossible value: {name}={shown(value)}, expected one of {'/'.join(map(str, allowed))}")
    return value


def _boolean(obj: dict, name: str) -> bool | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRecord(f"wrong type: {name} must be true or false, got {type(value).__name__} {shown(value)}")
    return value


def _age(obj: dict, name: str = "age_years") -> int | None:
    age = obj.get(name)
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
        raise InvalidRecord(f"impossible value: {name}={shown(age)}, expected a whole number 0..130")
    return age


def reading_from_dict(obj: dict, now_ms: int | None = None) -> VitalsReading:
    """A reading; a bad field is removed with its reason (``rejected_fields``) and the rest is kept.

    The whole record is refused only when it cannot be attributed (ids, time, version) or when
    nothing usable is left.
    """
    _check_version(obj)
    ids = {n: _require_str(obj, n) for n in ("reading_id", "patient_id", "encounter_id", "hospital_id", "unit", "bed", "device_id")}
    if "ts" not in obj:
        raise InvalidRecord("missing field: ts")
    ts_ms = parse_timestamp(obj["ts"])
    _check_future(ts_ms, now_ms)
    errors: list[str] = []
    vitals = {name: _field(errors, name, _vital, obj, name) for name in VITALS}
    consciousness = _field(errors, "consciousness", _choice, obj, "consciousness", ACVPU)
    scale = _field(errors, "spo2_scale", _choice, obj, "spo2_scale", (1, 2))
    on_oxygen = _field(errors, "on_oxygen", _boolean, obj, "on_oxygen")
    if on_oxygen is None and vitals["oxygen_flow_l_min"] is not None:
        on_oxygen = vitals["oxygen_flow_l_min"] > 0
    sbp, dbp = vitals["systolic_bp"], vitals["diastolic_bp"]
    if sbp is not None and dbp is not None and dbp >= sbp:
        # Which of the two is wrong cannot be told: both are removed, the rest of the reading is scored.
        errors.append(f"systolic_bp, diastolic_bp: diastolic {dbp:g} is not below systolic {sbp:g}")
        vitals["systolic_bp"] = vitals["diastolic_bp"] = None
    age = _field(errors, "age_years", _age, obj)
    pregnant = _field(errors, "pregnant", _boolean, obj, "pregnant")
    source = _optional_text(obj, "source", errors) or "bedside"
    if all(v is None for k, v in vitals.items() if k != "oxygen_flow_l_min") and consciousness is None:
        if errors:
            raise InvalidRecord("nothing usable: " + "; ".join(errors))
        raise InvalidRecord("missing field: a reading needs at least one vital sign")
    return VitalsReading(
        **ids, ts_ms=ts_ms, source=source, **vitals, spo2_scale=scale, consciousness=consciousness,
        on_oxygen=on_oxygen, oxygen_device=_optional_text(obj, "oxygen_device", errors), age_years=age,
        pregnant=pregnant, rejected_fields=errors,
    )


_ENCOUNTER_FIELDS = {f.name for f in fields(EncounterEvent)}
# Field -> the JSON kind it must have (from the annotations: "float | None" -> float, ...).
_ENCOUNTER_KINDS = {f.name: k for f in fields(EncounterEvent)
                    for k in (float, bool, str, int) if str(f.type).startswith(k.__name__)}
_ENCOUNTER_TEXT_LIMIT = 500  # free text (notes, reasons): bounded, control characters refused
_LIMIT_KEYS_MAX = 20


def _encounter_field(name: str, value: Any, kind: type) -> Any:
    if kind is float:
        return _number(name, value)
    if kind is bool:
        return _boolean({name: value}, name)
    if kind is int:
        if name == "arrival_ts_ms":
            return parse_timestamp(value, name)
        if name == "age_years":
            return _age({name: value}, name)
        if name == "triage_level":
            return _choice({name: value}, name, (1, 2, 3, 4, 5))
        return _choice({name: value}, name, (1, 2))  # spo2_scale
    if not isinstance(value, str):
        raise InvalidRecord(f"wrong type: {name} must be a string, got {type(value).__name__}")
    if len(value) > _ENCOUNTER_TEXT_LIMIT or _BAD_ID.search(value.replace("\n", " ")):
        raise InvalidRecord(f"impossible value: {name} is over {_ENCOUNTER_TEXT_LIMIT} characters or has control characters")
    return value


def _limits(value: Any) -> dict[str, float]:
    """Clinician-adjusted limits of an order: {"news2.urgent": 7, ...}; checked by name in detection."""
    if not isinstance(value, dict) or len(value) > _LIMIT_KEYS_MAX:
        raise InvalidRecord(f"wrong type: limits must be an object of at most {_LIMIT_KEYS_MAX} setting: number pairs")
    out = {}
    for key, number in value.items():
        if not isinstance(key, str) or len(key) > MAX_ID_CHARS or _BAD_ID.search(key):
            raise InvalidRecord(f"impossible value: limits key {shown(key)}")
        out[key] = _number(f"limits.{key}", number)
    return out


def encounter_from_dict(obj: dict, now_ms: int | None = None) -> EncounterEvent:
    """An encounter event; like readings, a bad field is removed (``rejected_fields``) and the rest kept."""
    _check_version(obj)
    ids = {n: _require_str(obj, n) for n in ("event_id", "event", "patient_id", "encounter_id", "hospital_id")}
    if ids["event"] not in ENCOUNTER_EVENTS:
        raise InvalidRecord(f"impossible value: event={shown(ids['event'])}, expected one of {', '.join(ENCOUNTER_EVENTS)}")
    if "ts" not in obj:
        raise InvalidRecord("missing field: ts")
    ts_ms = parse_timestamp(obj["ts"])
    _check_future(ts_ms, now_ms)
    errors: list[str] = []
    raw = {k: v for k, v in obj.items() if k in _ENCOUNTER_FIELDS and k not in ids
           and k not in ("ts_ms", "type", "schema_version", "rejected_fields")}
    if "arrival_ts" in obj:
        raw["arrival_ts_ms"] = obj["arrival_ts"]
    extra: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name in ("symptoms", "medications", "tests"):
            if isinstance(value, list) and len(value) <= 50 and all(
                    isinstance(x, str) and len(x) <= 200 and not _BAD_ID.search(x) for x in value):
                extra[name] = value
            else:
                errors.append(f"{name}: must be a list of at most 50 short strings")
            continue
        if name == "limits":
            parsed = _field(errors, name, _limits, value)
        elif name in ("unit", "bed", "from_unit", "doctor_id", "room"):
            parsed = _field(errors, name, _require_str, {name: value}, name)
        else:
            kind = _ENCOUNTER_KINDS.get(name)
            if kind is None:
                continue
            parsed = _field(errors, name, _encounter_field, name, value, kind)
        if parsed is not None:
            extra[name] = parsed
    return EncounterEvent(**ids, ts_ms=ts_ms, **extra, rejected_fields=errors)


ACK_ACTIONS = ("acknowledge", "silence", "resume")


@dataclass
class AckEvent:
    """A clinician's answer to a page, on the stream keyed by patient: acknowledge an episode
    (stops its re-alerts and escalation for a while), silence a bed (probe off, patient off the
    ward) for some minutes, or resume paging."""

    ack_id: str
    patient_id: str
    hospital_id: str
    by: str  # staff id or role of who answered; never a patient identifier
    ts_ms: int
    action: str = "acknowledge"
    alert_id: str | None = None  # the page answered (any id of the episode); required to acknowledge
    minutes: float | None = None  # how long a silence or acknowledgement lasts; the configured default if absent
    reason: str | None = None
    schema_version: int = SCHEMA_VERSION
    type: str = "ack"


def ack_from_dict(obj: dict, now_ms: int | None = None) -> AckEvent:
    _check_version(obj)
    ids = {n: _require_str(obj, n) for n in ("ack_id", "patient_id", "hospital_id", "by")}
    if "ts" not in obj:
        raise InvalidRecord("missing field: ts")
    ts_ms = parse_timestamp(obj["ts"])
    _check_future(ts_ms, now_ms)
    action = _choice(obj, "action", ACK_ACTIONS) or "acknowledge"
    alert = _require_str(obj, "alert_id") if action == "acknowledge" or obj.get("alert_id") is not None else None
    minutes = None
    if obj.get("minutes") is not None:
        minutes = _number("minutes", obj["minutes"])
        if not 0 < minutes <= 24 * 60:
            raise InvalidRecord(f"impossible value: minutes={shown(obj['minutes'])}, expected 0..1440")
    reason = obj.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 200 or _BAD_ID.search(reason)):
        raise InvalidRecord("impossible value: reason must be a string of at most 200 characters")
    return AckEvent(**ids, ts_ms=ts_ms, action=action, alert_id=alert, minutes=minutes, reason=reason)


_KEY_SEPARATOR = re.compile(rb'"\s+:')


def _count_keys(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(obj) + sum(_count_keys(v) for v in obj.values())
    if isinstance(obj, list):
        return sum(_count_keys(v) for v in obj)
    return 0


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidRecord(f"duplicate key: {shown(key)} appears twice (which value is meant cannot be told)")
        seen[key] = value
    return seen


def _check_duplicate_keys(data: bytes, obj: dict) -> None:
    """Duplicate JSON keys would silently re-attribute a reading (the last one wins).

    orjson keeps the last; counting ``":`` separators tells, for the usual compact or spaced
    encodings, whether any key was swallowed; only then (or with unusual spacing) is the record
    parsed again by the standard library with a hook that names the duplicate.
    """
    if data.count(b'":') == _count_keys(obj) and not _KEY_SEPARATOR.search(data):
        return
    try:
        json.loads(data, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, InvalidRecord):
            raise
        # orjson accepted it; the standard library disagrees on some edge: do not guess.
        return


def decode(data: bytes | str, now_ms: int | None = None) -> VitalsReading | EncounterEvent | AckEvent:
    """Bytes from the stream -> a typed event, or InvalidRecord with the reason."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"not JSON: {exc.args[0][:80]}") from None
    if not isinstance(obj, dict):
        raise InvalidRecord(f"wrong type: record must be a JSON object, got {type(obj).__name__}")
    _check_duplicate_keys(data, obj)
    kind = obj.get("type", "vitals")
    if kind == "vitals":
        return reading_from_dict(obj, now_ms)
    if kind == "encounter":
        return encounter_from_dict(obj, now_ms)
    if kind == "ack":
        return ack_from_dict(obj, now_ms)
    raise InvalidRecord(f"unknown record type {shown(kind)}; expected 'vitals', 'encounter' or 'ack'")


def to_wire(event: VitalsReading | EncounterEvent | AckEvent | Alert) -> dict:
    """The JSON object for an event: ``ts`` as ISO-8601, None values left out."""
    out = {k: v for k, v in asdict(event).items() if v is not None and v != [] and v != {}}
    out["ts"] = iso_ms(out.pop("ts_ms"))
    if "arrival_ts_ms" in out:
        out["arrival_ts"] = iso_ms(out.pop("arrival_ts_ms"))
    return out


def encode(event: VitalsReading | EncounterEvent | AckEvent | Alert) -> bytes:
    return orjson.dumps(to_wire(event))


def place_text(hospital_id: str, unit: str, bed: str) -> str:
    """Where a patient is, as detection writes it into an alert's message (the renderer names it)."""
    return f"{hospital_id} {unit} bed {bed}"


_ALERT_FIELDS = {f.name: f for f in fields(Alert)}
_ALERT_REQUIRED = ("alert_id", "rule", "severity", "status", "patient_id", "encounter_id", "hospital_id", "unit",
                   "bed", "episode_start_ms", "message")


def decode_alert(data: bytes | str) -> Alert:
    """An alert from the alerts stream (``encode`` of an ``Alert``); InvalidRecord says what is wrong.

    The delivery service trusts nothing it cannot render: a record that fails here goes to its
    dead-letter queue with the reason instead of being paged half-formed.
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"not JSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("type") != "alert":
        raise InvalidRecord("not an alert record (type must be 'alert')")
    _check_version(obj)
    obj = dict(obj)
    obj["ts_ms"] = parse_timestamp(obj.pop("ts", None), "ts")
    missing = [n for n in _ALERT_REQUIRED if obj.get(n) in (None, "")]
    if missing:
        raise InvalidRecord(f"alert lacks {', '.join(missing)}")
    for name in _ALERT_REQUIRED:
        want = int if name.endswith("_ms") else str
        if not isinstance(obj[name], want) or isinstance(obj[name], bool):
            raise InvalidRecord(f"wrong type: {name} must be {want.__name__}")
    for name in ("hospital_id", "unit", "bed", "alert_id"):
        if len(obj[name]) > MAX_ID_CHARS or _BAD_ID.search(obj[name]):
            raise InvalidRecord(f"bad {name}: too long or carries control characters")
    return Alert(**{k: v for k, v in obj.items() if k in _ALERT_FIELDS})
