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

from flink_app.schema.events import VitalsReading

CARRIED = ("respiratory_rate", "spo2", "on_oxygen", "systolic_bp", "diastolic_bp", "heart_rate", "consciousness",
           "temperature_c")


@dataclass
class LastSeen:
    values: dict[str, tuple[object, int]] = field(default_factory=dict)  # name -> (value, ts_ms)
    spo2_scale: int = 1


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
    if reading.spo2 is not None:
        last.spo2_scale = reading.spo2_scale
    values["spo2_scale"] = reading.spo2_scale if reading.spo2 is not None else last.spo2_scale
    return values, carried
