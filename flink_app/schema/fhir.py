"""FHIR R4 vital-signs Observations (or a Bundle of them) -> WardWatch readings.

Observations of one patient at one ``effectiveDateTime`` become one reading. Codes are LOINC
(CLINICAL.md, "Codes and formats"), units UCUM; the blood-pressure panel 85354-9 carries its
systolic and diastolic as components. Output is the wire JSON of ``events.py``, so a FHIR
reading is validated exactly like any other. Anything that is not a usable vital-signs
Observation is rejected with a reason, never dropped silently.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from flink_app.schema.events import SCHEMA_VERSION, InvalidRecord, parse_timestamp

# LOINC code -> reading field.
LOINC: dict[str, str] = {
    "8867-4": "heart_rate",
    "9279-1": "respiratory_rate",
    "8310-5": "temperature_c",
    "2708-6": "spo2",
    "59408-5": "spo2",  # oxygen saturation by pulse oximetry
    "8480-6": "systolic_bp",
    "8462-4": "diastolic_bp",
}
BP_PANEL = "85354-9"
VITAL_SIGNS_PANEL = "85353-1"  # a container (hasMember): its members carry the values
MEAN_BP = "8478-0"  # not a NEWS2 parameter: accepted, not carried
LOINC_SYSTEM = "http://loinc.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
USABLE_STATUS = ("final", "amended", "corrected", "preliminary")


@dataclass
class FhirResult:
    readings: list[dict]
    rejected: list[tuple[str, str]]  # (resource id or position, reason)


def _loinc_codes(concept: dict | None) -> list[str]:
    return [c.get("code") for c in (concept or {}).get("coding", []) if c.get("system") == LOINC_SYSTEM]


def _quantity(field: str, holder: dict, where: str) -> dict | None:
    if "dataAbsentReason" in holder and "valueQuantity" not in holder:
        return None
    q = holder.get("valueQuantity")
    if not isinstance(q, dict) or "value" not in q:
        raise InvalidRecord(f"{where}: no valueQuantity or dataAbsentReason")
    unit = q.get("code") or q.get("unit")
    return {"value": q["value"], "unit": unit}


def _reference_id(ref: dict | None, kind: str) -> str | None:
    text = (ref or {}).get("reference", "")
    if not text:
        return None
    return text.split("/", 1)[1] if text.startswith(f"{kind}/") else text


def observation_values(obs: dict) -> dict[str, dict]:
    """The reading fields an Observation carries, as ``{"value", "unit"}``; raises InvalidRecord."""
    where = f"Observation/{obs.get('id', '?')}"
    if obs.get("resourceType") != "Observation":
        raise InvalidRecord(f"{where}: resourceType {obs.get('resourceType')!r} is not Observation")
    if obs.get("status") not in USABLE_STATUS:
        raise InvalidRecord(f"{where}: status {obs.get('status')!r} is not one of {', '.join(USABLE_STATUS)}")
    categories = [c.get("code") for cat in obs.get("category", []) for c in cat.get("coding", [])
                  if c.get("system") == CATEGORY_SYSTEM]
    if "vital-signs" not in categories:
        raise InvalidRecord(f"{where}: category is not vital-signs")
    codes = _loinc_codes(obs.get("code"))
    if not codes:
        raise InvalidRecord(f"{where}: no LOINC code")
    values: dict[str, dict] = {}
    if BP_PANEL in codes:
        for comp in obs.get("component", []):
            for code in _loinc_codes(comp.get("code")):
                if code in ("8480-6", "8462-4"):
                    q = _quantity(LOINC[code], comp, f"{where} component {code}")
                    if q is not None:
                        values[LOINC[code]] = q
        return values
    if VITAL_SIGNS_PANEL in codes or MEAN_BP in codes:
        return values
    known = [c for c in codes if c in LOINC]
    if not known:
        raise InvalidRecord(f"{where}: LOINC {', '.join(codes)} is not a vital sign WardWatch reads")
    q = _quantity(LOINC[known[0]], obs, where)
    if q is not None:
        values[LOINC[known[0]]] = q
    return values


def from_fhir(resource: dict, *, hospital_id: str = "unknown", unit: str = "unknown", bed: str = "unknown") -> FhirResult:
    """Readings from an Observation or a Bundle; location comes from the caller (FHIR Observations carry none)."""
    if resource.get("resourceType") == "Bundle":
        entries = [e.get("resource", {}) for e in resource.get("entry", [])]
    elif resource.get("resourceType") == "Observation":
        entries = [resource]
    else:
        return FhirResult([], [("input", f"resourceType {resource.get('resourceType')!r} is neither Bundle nor Observation")])
    groups: OrderedDict[tuple[str, int, str], dict] = OrderedDict()
    rejected: list[tuple[str, str]] = []
    for i, obs in enumerate(entries):
        rid = f"Observation/{obs.get('id')}" if obs.get("id") else f"entry[{i}]"
        try:
            values = observation_values(obs)
            patient = _reference_id(obs.get("subject"), "Patient")
            if not patient:
                raise InvalidRecord(f"{rid}: no subject Patient reference")
            when = obs.get("effectiveDateTime") or (obs.get("effectivePeriod") or {}).get("start")
            if when is None:
                raise InvalidRecord(f"{rid}: no effectiveDateTime")
            ts = parse_timestamp(when, "effectiveDateTime")
        except InvalidRecord as exc:
            rejected.append((rid, exc.reason))
            continue
        if not values:
            continue  # a panel container, a mean BP, or only absent values: nothing to carry
        encounter = _reference_id(obs.get("encounter"), "Encounter") or f"{patient}-unknown-encounter"
        key = (patient, ts, encounter)
        reading = groups.setdefault(key, {
            "schema_version": SCHEMA_VERSION, "type": "vitals", "reading_id": "", "patient_id": patient,
            "encounter_id": encounter, "hospital_id": hospital_id, "unit": unit, "bed": bed,
            "device_id": _reference_id(obs.get("device"), "Device") or "fhir", "source": "fhir", "ts": ts,
            "_ids": [],
        })
        reading["_ids"].append(obs.get("id") or f"entry{i}")
        reading.update(values)
    readings = []
    for reading in groups.values():
        ids = reading.pop("_ids")
        reading["reading_id"] = "fhir-" + "+".join(ids)
        readings.append(reading)
    return FhirResult(readings, rejected)
