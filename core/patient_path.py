"""The per-patient path of the job, as one plain-Python call: decode -> carry-forward -> enrich -> detect.

``PatientProcess`` (the Flink operator) and ``bench/detection.py`` both go through
``PatientPath.handle``, so the benchmark judges exactly what the job pages.
"""

from __future__ import annotations

import json

from core.carry_forward import carry_forward, note_encounter
from core.config import Config
from core.detect import Detector, PatientState
from core.enrich import enrich
from core.schema.events import AckEvent, EncounterEvent, InvalidRecord, decode


def default_settings() -> dict:
    return Config().as_dict()


def encounter_row(event: EncounterEvent, meta: tuple) -> dict:
    shard, seq, _, processed = meta
    row = {k: v for k, v in event.__dict__.items() if k not in ("schema_version", "type", "limits")}
    row["ts"] = row.pop("ts_ms")
    row["arrival_ts"] = row.pop("arrival_ts_ms")
    row["limits_json"] = json.dumps(event.limits, sort_keys=True) if event.limits else None
    row.update(kinesis_shard=shard, kinesis_seq=seq, processed_ts=processed)
    return row


class PatientPath:
    def __init__(self, settings: dict):
        self.detector = Detector({k: v for k, v in settings.items() if k.startswith("detection.")})
        self.max_age_ms = settings["enrich.carry_forward.max_age.ms"]

    def handle(self, state: PatientState, event, meta: tuple = ("", "", None, None)) -> tuple[str | None, dict | None, list]:
        """(table, row, alerts) for one decoded event of this patient; acknowledgements have no row."""
        shard, seq, arrival_ms, processed = meta
        if isinstance(event, AckEvent):
            return None, None, self.detector.on_ack(state, event)
        if isinstance(event, EncounterEvent):
            note_encounter(event, state.last_seen)
            row = encounter_row(event, meta)
            alerts = self.detector.on_encounter(state, {**row, "limits": event.limits})
            if event.event == "discharge":
                state.reset()  # per-patient state does not grow with patient churn
            return "encounters", row, alerts
        scored, carried = carry_forward(event, state.last_seen, self.max_age_ms)
        row = enrich(event, scored=scored, carried=carried, shard=shard, seq=seq, arrival_ms=arrival_ms,
                     processed_ms=processed)
        return "vitals", row, self.detector.step(state, row)

    def process(self, states: dict[str, PatientState], data: bytes, now_ms: int) -> list:
        """Bytes of one record -> the alerts it raises (benchmark entry point; bad records raise none)."""
        try:
            event = decode(data, now_ms=now_ms)
        except InvalidRecord:
            return []
        state = states.setdefault(event.patient_id, PatientState())
        return self.handle(state, event, ("", "", now_ms, now_ms))[2]

    def tick(self, state: PatientState, now_ms: int) -> list:
        return self.detector.tick(state, now_ms)
