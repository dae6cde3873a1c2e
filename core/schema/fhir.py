"""FHIR R4 vital-signs Observations (or a Bundle of them) -> WardWatch readings.

Observations of one patient at one ``effectiveDateTime`` become one reading. Codes are LOINC
(CLINICAL.md, "Codes and formats") and, for the NEWS2 parameters LOINC has no common code
for, SNOMED CT; units UCUM. The blood-pressure panel 85354-9 carries its systolic and
diastolic as components, the pulse-oximetry profile its inhaled oxygen flow and
concentration. Output is the wire JSON of ``events.py``, so a FHIR reading is validated
exactly like any other. Anything that is not a usable Observation is rejected with a reason,
never dropped silently, and no input (however malformed) raises.

Where the Bundle carries them, the Observation's Encounter, its Location (bed and ward, by
``physicalType``, through ``partOf``), the Organization behind them and the Patient's
birth date give hospital, unit, bed and age; the caller's values are the fallback. The
birth date itself is never carried: only the age in whole years.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import sha256
from typing import Any

from core.schema.events import MAX_ID_CHARS, SCHEMA_VERSION, InvalidRecord, parse_timestamp

LOINC_SYSTEM = "http://loinc.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
PHYSICAL_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/location-physical-type"
USABLE_STATUS = ("final", "amended", "corrected", "preliminary")

# LOINC code -> reading field (quantities).
LOINC: dict[str, str] = {
    "8867-4": "heart_rate",
    "9279-1": "respiratory_rate",
    "8310-5": "temperature_c",
    "2708-6": "spo2",
    "59408-5": "spo2",  # oxygen saturation by pulse oximetry
    "8480-6": "systolic_bp",
    "8462-4": "diastolic_bp",
    "3151-8": "oxygen_flow_l_min",  # inhaled oxygen flow rate (US Core pulse-oximetry component)
}
FIO2 = "3150-0"  # inhaled oxygen concentration, %: above room air's 21% means on oxygen
ROOM_AIR_FIO2 = 21.0
BP_PANEL = "85354-9"
VITAL_SIGNS_PANEL = "85353-1"  # a container (hasMember): its members carry the values
MEAN_BP = "8478-0"  # not a NEWS2 parameter: accepted, not carried

# Level of responsiveness: LOINC 67775-7; ACVPU scale score, SNOMED CT 1104441000000107 (UK Core).
CONSCIOUSNESS_CODES = {(LOINC_SYSTEM, "67775-7"), (SNOMED_SYSTEM, "1104441000000107")}
# Answers -> ACVPU letter: SNOMED CT findings used by the AVPU value sets (IHE PCC mPSC, UK Core),
# LOINC answer codes of 67775-7, or the letter itself as a code or valueString.
ACVPU_ANSWERS: dict[str, str] = {
    "248234008": "A",  # mentally alert
    "1104561000000106": "C",  # new confusion (UK Core ACVPU)
    "300202002": "V", "255373000": "V",  # responds to voice / verbal
    "450847001": "P",  # responds to pain
    "422768004": "U",  # unresponsive
    "LA9340-6": "A", "LA17108-4": "V", "LA17107-6": "P", "LA9343-0": "U",
    "A": "A", "C": "C", "V": "V", "P": "P", "U": "U",
}
# Air or oxygen as a finding (SNOMED CT): breathing room air / patient on oxygen.
AIR_OR_OXYGEN = {"722742002": False, "371825009": True}
# Categories a NEWS2 observation is filed under: consciousness is often an exam or survey.
USABLE_CATEGORIES = ("vital-signs", "exam", "survey")
CONTEXT_TYPES = ("Patient", "Encounter", "Location", "Organization")


@dataclass
class FhirResult:
    readings: list[dict]
    rejected: list[tuple[str, str]]  # (resource id or position, reason)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _codings(concept: Any) -> list[tuple[str | None, str]]:
    return [(_text(c.get("system")), c["code"]) for c in map(_dict, _list(_dict(concept).get("coding")))
            if _text(c.get("code"))]


def _codes(concept: Any, system: str) -> list[str]:
    return [code for s, code in _codings(concept) if s == system]


def _quantity(holder: dict, where: str) -> dict | None:
    if "dataAbsentReason" in holder and "valueQuantity" not in holder:
        return None
    q = holder.get("valueQuantity")
    if not isinstance(q, dict) or "value" not in q:
        raise InvalidRecord(f"{where}: no valueQuantity or dataAbsentReason")
    return {"value": q["value"], "unit": q.get("code") or q.get("unit")}


def _reference_id(ref: Any, kind: str) -> str | None:
    text = _text(_dict(ref).get("reference"))
    if not text:
        return None
    return text.split("/", 1)[1] if text.startswith(f"{kind}/") else text


def _fio2_on_oxygen(holder: dict, where: str) -> bool | None:
    q = _quantity(holder, where)
    if q is None:
        return None
    value = q["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise InvalidRecord(f"{where}: inhaled oxygen concentration {value!r} is not a percentage")
    return value > ROOM_AIR_FIO2


def _consciousness(obs: dict, where: str) -> str | None:
    if "dataAbsentReason" in obs and not any(k.startswith("value") for k in obs):
        return None
    answers = [code for _, code in _codings(obs.get("valueCodeableConcept"))]
    if isinstance(obs.get("valueString"), str):
        answers.append(obs["valueString"].strip().upper())
    for answer in answers:
        if answer in ACVPU_ANSWERS:
            return ACVPU_ANSWERS[answer]
    raise InvalidRecord(f"{where}: level of responsiveness has no ACVPU answer WardWatch knows")


def observation_values(obs: dict, where: str | None = None) -> dict[str, Any]:
    """The reading fields an Observation carries (vitals as ``{"value", "unit"}``); raises InvalidRecord."""
    where = where or f"Observation/{obs.get('id', '?')}"
    if obs.get("resourceType") != "Observation":
        raise InvalidRecord(f"{where}: resourceType {obs.get('resourceType')!r} is not Observation")
    if obs.get("status") not in USABLE_STATUS:
        raise InvalidRecord(f"{where}: status {obs.get('status')!r} is not one of {', '.join(USABLE_STATUS)}")
    categories = [code for cat in _list(obs.get("category")) for code in _codes(cat, CATEGORY_SYSTEM)]
    if not set(categories) & set(USABLE_CATEGORIES):
        raise InvalidRecord(f"{where}: category is not vital-signs")
    codings = _codings(obs.get("code"))
    loinc = [code for system, code in codings if system == LOINC_SYSTEM]
    if set(codings) & CONSCIOUSNESS_CODES:
        value = _consciousness(obs, where)
        return {} if value is None else {"consciousness": value}
    snomed = [code for system, code in codings if system == SNOMED_SYSTEM and code in AIR_OR_OXYGEN]
    if snomed:
        values: dict[str, Any] = {"on_oxygen": AIR_OR_OXYGEN[snomed[0]]}
        device = _text(_dict(obs.get("valueCodeableConcept")).get("text"))
        if device and values["on_oxygen"]:
            values["oxygen_device"] = device
        return values
    if not loinc:
        raise InvalidRecord(f"{where}: no LOINC code")
    values = {}
    if BP_PANEL in loinc or VITAL_SIGNS_PANEL in loinc or MEAN_BP in loinc:
        wanted = ("8480-6", "8462-4")
    else:
        known = [c for c in loinc if c in LOINC or c == FIO2]
        if not known:
            raise InvalidRecord(f"{where}: LOINC {', '.join(loinc)} is not a vital sign WardWatch reads")
        _put(values, known[0], obs, where)
        wanted = ("3151-8", FIO2)  # the pulse-oximetry profile's oxygen components
    for comp in map(_dict, _list(obs.get("component"))):
        for code in _codes(comp.get("code"), LOINC_SYSTEM):
            if code in wanted:
                _put(values, code, comp, f"{where} component {code}")
    return values


def _put(values: dict, code: str, holder: dict, where: str) -> None:
    if code == FIO2:
        on_oxygen = _fio2_on_oxygen(holder, where)
        if on_oxygen is not None:
            values["on_oxygen"] = on_oxygen
        return
    q = _quantity(holder, where)
    if q is not None:
        values[LOINC[code]] = q


class _Context:
    """Patient, Encounter, Location and Organization resources of a Bundle, by ``Type/id``."""

    def __init__(self, resources: list[dict]):
        self.by_ref = {f"{r['resourceType']}/{r['id']}": r for r in resources
                       if r.get("resourceType") in CONTEXT_TYPES and _text(r.get("id"))}

    def get(self, ref: Any) -> dict:
        return _dict(self.by_ref.get(_text(_dict(ref).get("reference")) or ""))

    def place(self, obs: dict) -> dict[str, str]:
        """hospital_id, unit and bed from the Observation's Encounter and its Locations, where given."""
        encounter = self.get(obs.get("encounter"))
        out: dict[str, str] = {}
        stays = [_dict(s) for s in _list(encounter.get("location"))]
        active = [s for s in stays if s.get("status") == "active"] or stays[-1:]
        location = self.get(active[0].get("location")) if active else {}
        for _ in range(6):  # bed -> room -> ward -> building: a short chain, never a loop
            if not location:
                break
            kind = next(iter(_codes(location.get("physicalType"), PHYSICAL_TYPE_SYSTEM)), None)
            name = _text(location.get("name")) or _text(location.get("id"))
            if kind == "bd" and name:
                out.setdefault("bed", name)
            elif kind == "wa" and name:
                out.setdefault("unit", name)
            org = self.get(location.get("managingOrganization"))
            if org:
                out.setdefault("hospital_id", self._org_id(org))
            location = self.get(location.get("partOf"))
        org = self.get(encounter.get("serviceProvider"))
        if org:
            out.setdefault("hospital_id", self._org_id(org))
        return {k: v for k, v in out.items() if v}

    @staticmethod
    def _org_id(org: dict) -> str:
        ids = [_text(_dict(i).get("value")) for i in _list(org.get("identifier"))]
        return next((i for i in ids if i), None) or _text(org.get("id")) or ""

    def age_years(self, obs: dict, ts_ms: int) -> int | None:
        """Whole years at the observation from Patient.birthDate (YYYY, YYYY-MM or YYYY-MM-DD)."""
        born = _text(self.get(obs.get("subject")).get("birthDate"))
        if not born:
            return None
        try:
            parts = [int(p) for p in born.split("-")[:3]]
            birth = date(parts[0], parts[1] if len(parts) > 1 else 7, parts[2] if len(parts) > 2 else 1)
        except (ValueError, IndexError):
            return None
        when = datetime.fromtimestamp(ts_ms / 1000, UTC).date()
        age = when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))
        return age if 0 <= age <= 130 else None


def from_fhir(resource: Any, *, hospital_id: str = "unknown", unit: str = "unknown", bed: str = "unknown") -> FhirResult:
    """Readings from an Observation or a Bundle; the Bundle's Encounter/Location give the place, else the caller."""
    kind = _dict(resource).get("resourceType")
    if kind == "Bundle":
        entries = [_dict(_dict(e).get("resource")) for e in _list(resource.get("entry"))]
    elif kind == "Observation":
        entries = [resource]
    else:
        return FhirResult([], [("input", f"resourceType {kind!r} is neither Bundle nor Observation")])
    context = _Context(entries)
    groups: OrderedDict[tuple[str, int, str], dict] = OrderedDict()
    rejected: list[tuple[str, str]] = []
    for i, obs in enumerate(entries):
        kind_i = _text(obs.get("resourceType")) or "entry"
        rid = f"{kind_i}/{obs['id']}" if _text(obs.get("id")) else f"entry[{i}]"
        if obs.get("resourceType") in CONTEXT_TYPES:
            continue  # read by _Context for place and age
        try:
            values = observation_values(obs, rid)
            patient = _reference_id(obs.get("subject"), "Patient")
            if not patient:
                raise InvalidRecord(f"{rid}: no subject Patient reference")
            when = obs.get("effectiveDateTime") or _dict(obs.get("effectivePeriod")).get("start")
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
        if key not in groups:
            place = {"hospital_id": hospital_id, "unit": unit, "bed": bed, **context.place(obs)}
            groups[key] = {
                "schema_version": SCHEMA_VERSION, "type": "vitals", "reading_id": "", "patient_id": patient,
                "encounter_id": encounter, **place,
                "device_id": _reference_id(obs.get("device"), "Device") or "fhir", "source": "fhir", "ts": ts,
                "_ids": [],
            }
            age = context.age_years(obs, ts)
            if age is not None:
                groups[key]["age_years"] = age
        reading = groups[key]
        reading["_ids"].append(obs.get("id") if _text(obs.get("id")) else f"entry{i}")
        reading.update(values)
    readings = []
    for reading in groups.values():
        ids = reading.pop("_ids")
        joined = "fhir-" + "+".join(ids)
        # Within the id limit the Observation ids are kept (traceable); a longer set is hashed.
        reading["reading_id"] = joined if len(joined) <= MAX_ID_CHARS else "fhir-" + sha256(joined.encode()).hexdigest()[:40]
        readings.append(reading)
    return FhirResult(readings, rejected)
