"""Carrying forward the latest value of each NEWS2 parameter, with its age.

Monitors send parameters at different rates (a ward wearable sends heart rate and SpO2 every
minute; respiratory rate, blood pressure, temperature and ACVPU come with the 4-hourly nurse
observations), so a reading alone rarely holds a full NEWS2 set. Scores are computed on this
reading's values plus the latest earlier value of each absent parameter no older than
``max_age_ms``; the row records which parameters were carried and the oldest one's age.
Plain Python: the keyed Flink operator keeps ``LastSeen`` per patient in state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.schema.events import VitalsReading

CARRIED = ("respiratory_rate", "spo2", "on_oxygen", "systolic_bp", "diastolic_bp", "heart_rate", "consciousness",
           "temperature_c")


@dataclass
class LastSeen:
    """Per patient: the latest value of each parameter, and the patient's standing facts.

    The SpO2 scale is a clinical order (RCP 2017: scale 2 only for a prescribed 88-92% target):
    set by an order, admission or transfer that states it, or by a reading that states it, and
    never reset by a reading that does not (a wearable does not know the prescription).
    """

    values: dict[str, tuple[object, int]] = field(default_factory=dict)  # name -> (value, ts_ms)
    spo2_scale: int = 1
    age_years: int | None = None
    pregnant: bool | None = None


def carry_forward(reading: VitalsReading, last: LastSeen, max_age_ms: int) -> tuple[dict[str, object], dict[str, int]]:
    """(values to score with, {carried parameter: age in ms}); updates ``last`` with this reading."""
    ts = reading.ts_ms
    values: dict[str, object] = {}
    carried: dict[str, int] = {}
    for name in CARRIED:
        own = getattr(reading, name)
        if own is not None:
            values[name] = own
            seen = last.values.get(name)
            if seen is None or seen[1] <= ts:  # a late reading never overwrites a newer value
                last.values[name] = (own, ts)
            continue
        seen = last.values.get(name)
        if seen is not None and 0 <= ts - seen[1] <= max_age_ms:
            values[name] = seen[0]
            carried[name] = ts - seen[1]
    if reading.spo2_scale is not None:
        last.spo2_scale = reading.spo2_scale
    if reading.age_years is not None:
        last.age_years = reading.age_years
    if reading.pregnant is not None:
        last.pregnant = reading.pregnant
    values["spo2_scale"] = last.spo2_scale
    values["age_years"] = last.age_years
    values["pregnant"] = bool(last.pregnant)
    return values, carried


def note_encounter(event, last: LastSeen) -> None:
    """Standing facts from an encounter event (admission, transfer, order): scale, age."""
    if event.spo2_scale is not None:
        last.spo2_scale = event.spo2_scale
    if event.age_years is not None:
        last.age_years = event.age_years
